/* global document */
// The console's one script: "Revoke" in a key's row opens a dialog whose own "Revoke" posts the
// revocation; without it the row's button opens a confirmation page instead.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  const dialog = document.getElementById('revoke-dialog');
  if (!dialog || typeof dialog.showModal !== 'function') return;
  const form = dialog.querySelector('form');
  const name = dialog.querySelector('[data-name]');
  for (const row of document.querySelectorAll('form.revoke')) {
    row.addEventListener('submit', (event) => {
      event.preventDefault();
      form.action = row.dataset.action;
      name.textContent = '“' + row.dataset.keyName + '”';
      dialog.showModal();
    });
  }
  dialog.querySelector('[data-close]').addEventListener('click', () => {
    dialog.close();
  });
});
