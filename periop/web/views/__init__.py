"""The anaesthetists' pages. Views stay thin: forms check shape, services and selectors do the
work, and every read of patient data is audited as the API audits it."""
