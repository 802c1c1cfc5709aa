// cronstrue's locale modules (cronstrue/locales/<lang>) ship no typings: they register themselves on cronstrue and
// export nothing the widget uses.
declare module "cronstrue/locales/*";
