/* Strings of the profile page. */
import { register } from "../i18n.js";

register({
  en: {
    "profile.follow": "Follow",
    "profile.unfollow": "Unfollow",
    "profile.following.state": "Following",
    "profile.followers": "followers",
    "profile.followers.one": "follower",
    "profile.followers.other": "followers",
    "profile.following": "following",
    "profile.spaces": "Spaces",
    "profile.spaces.empty": "No live or upcoming Spaces.",
    "profile.past": "Past Spaces",
    "profile.followLabel": "Follow {name}",
    "profile.unfollowLabel": "Unfollow {name}",
    "profile.you": "This is you",
    "profile.signinToFollow": "Sign in to follow"
  },
  ar: {
    "profile.follow": "متابعة",
    "profile.unfollow": "إلغاء المتابعة",
    "profile.following.state": "تتابعه",
    "profile.followers": "متابِعون",
    "profile.followers.zero": "متابِعين",
    "profile.followers.one": "متابِع",
    "profile.followers.two": "متابِعان",
    "profile.followers.few": "متابِعين",
    "profile.followers.many": "متابِعًا",
    "profile.followers.other": "متابِع",
    "profile.following": "يتابع",
    "profile.spaces": "المساحات",
    "profile.spaces.empty": "لا توجد مساحات مباشرة أو قادمة.",
    "profile.past": "مساحات سابقة",
    "profile.followLabel": "تابِع {name}",
    "profile.unfollowLabel": "ألغِ متابعة {name}",
    "profile.you": "هذا أنت",
    "profile.signinToFollow": "سجّل الدخول للمتابعة"
  }
});
