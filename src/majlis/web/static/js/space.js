/* majlis Space page: one page for listener, speaker, cohost and host, in every state (scheduled,
   doors open, live, ended with its replay). This is its entry module; each concern is its own
   module, named after it:

     space-state.js     the elements, the model, the status line, timers, window.majlis
     space-join.js      read the Space, join it, heartbeats, the snapshot, the end (replay)
     space-events.js    the Space's event stream (or the snapshot standing in for it)
     space-head.js      title, host, when, count, share; scheduled: Remind me, Start
     space-link.js      the pinned link (its domain, never a preview); the staff pin it
     space-stage.js     the stage, who is speaking, my role
     space-me.js        my controls (connect, mute, leave) and the Play button
     space-miccheck.js  the level meter of my microphone while I am muted on stage
     space-onstage.js   which audio path (WHIP on stage, HTTP otherwise), reconnects
     space-audio.js     the switch between space-player.js (DASH, HLS) and space-whip.js (WHIP)
     space-requests.js  requests to speak: mine, and the staff's queue
     space-host.js      the staff's controls on stage members, invite, end
     space-policy.js    who may do what (domain/policy.py's rules, checked equal by a test)
     space-reactions.js the emoji buttons (the server's list) and the floating reactions
     space-comments.js  what people say in the room; the pinned one; delete and pin
     space-clip.js      clip the last 30 s (or 30 s of the replay); the host's switch
     space-captions.js  the live caption line (CC), the replay's transcript; the host's switch
     space-audience.js  the faces of people I follow who are listening
     space-bar.js       the bar at the bottom: the tray and the host's sheet on a phone
     space-render.js    the whole page again, part by part

   It reads the Space once, then follows its event stream and polls the cacheable snapshot for
   the listener count. `window.majlis` mirrors the page's state for tests and for anyone
   debugging from the console. */
import * as I18N from "./i18n.js";
import "./shell.js";
import { startAudience } from "./space-audience.js";
import { load } from "./space-join.js";
import { syncAudio } from "./space-onstage.js";
import { render } from "./space-render.js";
import { updateRole } from "./space-stage.js";
import { model } from "./space-state.js";

document.addEventListener("majlis:lang", render);

/* Signed in or out (here, or in another tab): who I am on this stage may have changed. */
document.addEventListener("majlis:session", function () {
  if (!model.space) { return; }
  updateRole();
  render();
  syncAudio();
});

I18N.apply(document);
load(1);
startAudience();
