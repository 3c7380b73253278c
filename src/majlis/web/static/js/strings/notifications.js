/* Strings of the notifications page. */
import { register } from "../i18n.js";

register({
  en: {
    "notices.title": "Notifications",
    "notices.signin": "Sign in to see your notifications.",
    "notices.empty": "Nothing yet. When people you follow go live, you will see it here.",
    "notice.live": "{name} is live: {title}",
    "notice.reminder": "Starting now: {title}",
    "notice.invited": "{name} brought you on stage in {title}",
    "notice.approved": "{name} approved your request to speak in {title}",
    "notice.promoted": "{name} made you a cohost of {title}",
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
    "notice.invited": "أنت الآن على المنصة في {title} بدعوة من {name}",
    "notice.approved": "قُبل طلبك للتحدث في {title} بموافقة {name}",
    "notice.promoted": "أصبحت من مستضيفي {title} بتعيين من {name}",
    "notice.removed": "أُخرجت من {title}",
    "notice.follow": "متابعة جديدة من {name}",
    "notice.someone": "أحدهم",
    "notice.aSpace": "مساحة"
  }
});
