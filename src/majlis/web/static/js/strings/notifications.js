/* Strings of the notifications page. */
import { register } from "../i18n.js";

register({
  en: {
    "notices.title": "Notifications",
    "notices.signin": "Sign in to see your notifications.",
    "notices.empty": "Nothing yet. When people you follow go live, you will see it here.",
    "notice.live": "{name} is live: {title}",
    "notice.reminder": "Starting now: {title}",
    "notice.invited": "{name} invited you to speak in {title}",
    "notice.promoted": "{name} brought you on stage in {title}",
    "notice.removed": "You were removed from {title}",
    "notice.follow": "{name} followed you",
    "notice.someone": "Someone",
    "notice.aSpace": "a Space"
  },
  ar: {
    "notices.title": "الإشعارات",
    "notices.signin": "سجّل الدخول لترى إشعاراتك.",
    "notices.empty": "لا شيء بعد. حين يبدأ من تتابعهم بثًا مباشرًا ستراه هنا.",
    "notice.live": "{name} في بث مباشر: {title}",
    "notice.reminder": "تبدأ الآن: {title}",
    "notice.invited": "دعاك {name} إلى التحدث في {title}",
    "notice.promoted": "أصعدك {name} إلى المنصة في {title}",
    "notice.removed": "أُخرجت من {title}",
    "notice.follow": "بدأ {name} بمتابعتك",
    "notice.someone": "أحدهم",
    "notice.aSpace": "مساحة"
  }
});
