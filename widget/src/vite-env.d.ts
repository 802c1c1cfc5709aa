/// <reference types="vite/client" />

// cronstrue's locale modules register themselves on cronstrue and export nothing the widget uses.
declare module "cronstrue/locales/*";
