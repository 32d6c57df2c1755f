(function () {
  var box = document.getElementById('severity-filter');
  var inputs = box.querySelectorAll('input[name="severity"]');
  var rows = document.querySelectorAll('#discrepancy-table tbody tr[data-severity]');
  var status = document.getElementById('filter-status');
  // A link can carry the filter: report.html#severity=error,warning
  var wanted = /^#severity=([a-z,]*)$/.exec(window.location.hash);
  if (wanted) {
    var keep = wanted[1].split(',');
    inputs.forEach(function (i) { i.checked = keep.indexOf(i.value) >= 0; });
  }
  function apply() {
    var on = {}, shown = 0, chosen = [];
    inputs.forEach(function (i) {
      on[i.value] = i.checked;
      if (i.checked) { chosen.push(i.value); }
    });
    rows.forEach(function (r) {
      var visible = on[r.getAttribute('data-severity')] !== false;
      r.hidden = !visible;
      if (visible) { shown += 1; }
    });
    status.textContent = shown + ' of ' + rows.length + ' discrepancies shown';
    try {
      window.history.replaceState(null, '', '#severity=' + chosen.join(','));
    } catch (e) { /* some viewers forbid it: the filter still works */ }
  }
  inputs.forEach(function (i) { i.addEventListener('change', apply); });
  box.hidden = false;
  apply();
})();
