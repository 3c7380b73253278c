/* Strings of the home page. */
import { register } from "../i18n.js";

register({
  en: {
    "home.title": "Home",
    "home.hero.title": "Live conversations, in your own majlis",
    "home.hero.text": "Listen to people you follow as they talk, raise your hand to speak, and host your own Spaces.",
    "home.liveNow": "Live now",
    "home.liveNow.hint": "People you follow",
    "home.liveNow.empty": "No one you follow is live right now.",
    "home.upcoming": "Upcoming",
    "home.upcoming.empty": "Nothing scheduled by people you follow.",
    "home.allLive": "All live Spaces",
    "home.allLive.empty": "No Space is live right now. Why not start one?",
  },
  ar: {
    "home.title": "الرئيسية",
    "home.hero.title": "محادثات مباشرة في مجلسك الخاص",
    "home.hero.text": "استمع إلى من تتابعهم وهم يتحدثون، وارفع يدك لتتكلم، واستضف مساحاتك الخاصة.",
    "home.liveNow": "مباشر الآن",
    "home.liveNow.hint": "ممن تتابعهم",
    "home.liveNow.empty": "لا أحد ممن تتابعهم في بث مباشر الآن.",
    "home.upcoming": "قريبًا",
    "home.upcoming.empty": "لا توجد مساحات مجدولة ممن تتابعهم.",
    "home.allLive": "كل المساحات المباشرة",
    "home.allLive.empty": "لا توجد مساحة مباشرة الآن. لمَ لا تبدأ واحدة؟",
  }
});
