/* Strings of the clip page and the embed player. */
import { register } from "../i18n.js";

register({
  en: {
    "clip.badge": "Clip",
    "clip.seconds": "s",
    "clip.clippedBy": "clipped by",
    "clip.space": "Open the Space",
    "clip.download": "Download",
    "clip.share": "Copy link",
    "clip.copied": "Link copied.",
    "clip.delete": "Delete clip",
    "clip.deleteConfirm": "Delete this clip for everyone?",
    "clip.deleted": "The clip was deleted.",
    "embed.play": "Play",
    "embed.pause": "Pause",
    "embed.live": "Live",
    "embed.scheduled": "Scheduled",
    "embed.replay": "Replay",
    "embed.ended": "Ended",
    "embed.startsAt": "Starts {when}",
    "embed.open": "Open in majlis",
    "embed.noReplay": "This Space has ended.",
    "embed.busy": "Busy, trying again…",
    "embed.offline": "Cannot reach majlis."
  },
  ar: {
    "clip.badge": "مقطع",
    "clip.seconds": "ث",
    "clip.clippedBy": "اقتطعه",
    "clip.space": "افتح المساحة",
    "clip.download": "تنزيل",
    "clip.share": "نسخ الرابط",
    "clip.copied": "نُسخ الرابط.",
    "clip.delete": "حذف المقطع",
    "clip.deleteConfirm": "حذف هذا المقطع عند الجميع؟",
    "clip.deleted": "حُذف المقطع.",
    "embed.play": "تشغيل",
    "embed.pause": "إيقاف مؤقت",
    "embed.live": "مباشر",
    "embed.scheduled": "مجدولة",
    "embed.replay": "تسجيل",
    "embed.ended": "انتهت",
    "embed.startsAt": "تبدأ {when}",
    "embed.open": "افتح في مجلس",
    "embed.noReplay": "انتهت هذه المساحة.",
    "embed.busy": "الخادم مشغول، نعيد المحاولة…",
    "embed.offline": "تعذّر الوصول إلى مجلس."
  }
});
