/* Strings of the sign-in and sign-up pages. */
import { register } from "../i18n.js";

register({
  en: {
    "auth.signin.title": "Welcome back",
    "auth.signin.lead": "Sign in to follow people, get notified and speak.",
    "auth.signin.submit": "Sign in",
    "auth.signin.noAccount": "New to majlis?",
    "auth.signup.title": "Join majlis",
    "auth.signup.lead": "Pick a handle people can find you by.",
    "auth.signup.submit": "Create account",
    "auth.signup.haveAccount": "Already have an account?",
    "auth.displayName": "Display name",
    "auth.handle": "Handle",
    "auth.handle.hint": "Letters, digits and _ (up to 32).",
    "auth.password": "Password",
    "auth.password.hint": "At least 8 characters.",
    "auth.working": "One moment…",
    "auth.missing": "Please fill in every field.",
    "auth.badHandle": "A handle is 1 to 32 letters, digits or _.",
    "auth.wrong": "That handle and password do not match.",
    "auth.taken": "That handle is taken. Try another one."
  },
  ar: {
    "auth.signin.title": "أهلًا بعودتك",
    "auth.signin.lead": "سجّل الدخول لتتابع الناس وتصلك الإشعارات وتتحدث.",
    "auth.signin.submit": "تسجيل الدخول",
    "auth.signin.noAccount": "جديد في مجلس؟",
    "auth.signup.title": "انضم إلى مجلس",
    "auth.signup.lead": "اختر معرّفًا يجدك الناس به.",
    "auth.signup.submit": "إنشاء الحساب",
    "auth.signup.haveAccount": "لديك حساب بالفعل؟",
    "auth.displayName": "الاسم الظاهر",
    "auth.handle": "المعرّف",
    "auth.handle.hint": "حروف لاتينية وأرقام و_ (حتى 32).",
    "auth.password": "كلمة المرور",
    "auth.password.hint": "ثمانية أحرف على الأقل.",
    "auth.working": "لحظة من فضلك…",
    "auth.missing": "يُرجى ملء كل الحقول.",
    "auth.badHandle": "المعرّف من 1 إلى 32 حرفًا لاتينيًا أو رقمًا أو _.",
    "auth.wrong": "المعرّف وكلمة المرور غير متطابقين.",
    "auth.taken": "هذا المعرّف مستخدم. جرّب غيره."
  }
});
