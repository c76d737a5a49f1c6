"use strict";
(function () {
  var report = JSON.parse(document.getElementById("audit-data").textContent);
  var tbody = document.querySelector("#vms tbody");
  var shown = document.getElementById("shown");
  var filters = {
    vm: document.getElementById("f-vm"),
    host: document.getElementById("f-host"),
    cluster: document.getElementById("f-cluster"),
    backing: document.getElementById("f-backing"),
    status: document.getElementById("f-status"),
    problems: document.getElementById("f-problems")
  };
  var NONE = "\u2014";

  function text(value) { return value === null || value === undefined || value === "" ? NONE : String(value); }

  // One row per serial port (one row for a VM without any), the VM's cells repeated.
  var rows = [];
  report.vms.forEach(function (vm) {
    var ports = vm.serial_ports.length ? vm.serial_ports : [null];
    var details = [];
    vm.errors.forEach(function (e) { details.push({ text: e, kind: "bad" }); });
    vm.drift.forEach(function (d) { details.push({ text: d, kind: "drift" }); });
    vm.notes.forEach(function (n) { details.push({ text: n, kind: "" }); });
    ports.forEach(function (port) {
      var closed = !!(port && port.ruleset && port.ruleset_ready !== true);
      var portBad = !!(port && port.status === "unrecoverableError");
      var rowDetails = details.slice();
      if (portBad) { rowDetails.push({ text: "port " + port.number + ": unrecoverableError", kind: "bad" }); }
      rows.push({
        vm: vm.name || "", host: vm.esxi_host || "", cluster: vm.cluster || "", power: vm.power_state || "",
        port: port ? port.number : null,
        backing: port ? (port.backing.type || "unknown") : "none",
        backingText: port ? port.backing_text : "no serial port",
        ruleset: port && port.ruleset ? port.ruleset : "",
        rulesetText: port && port.ruleset ? port.ruleset + ": " + port.ruleset_state : "",
        rulesetState: port && port.ruleset ? port.ruleset_state : "",
        closed: closed,
        vmci: vm.vmci.text, vmciFiltering: vm.vmci.filtering, vmciError: !!vm.vmci.error,
        status: vm.status, details: rowDetails,
        // red: the VM could not be audited, or a port cannot work; amber: drift, or no VMCI filtering
        level: vm.status === "error" || closed || portBad ? "bad" :
          vm.status === "drifted" || (!vm.vmci.error && !vm.vmci.filtering) ? "warn" : ""
      });
    });
  });

  function cell(tr, value, className) {
    var td = document.createElement("td");
    td.textContent = text(value);
    if (className) { td.className = className; }
    tr.appendChild(td);
    return td;
  }

  rows.forEach(function (row) {
    var tr = document.createElement("tr");
    if (row.level) { tr.className = row.level; }
    cell(tr, row.vm);
    cell(tr, row.host);
    cell(tr, row.cluster);
    cell(tr, row.power);
    cell(tr, row.port, "num");
    cell(tr, row.backingText);
    cell(tr, row.rulesetText, row.rulesetState === "enabled" ? "enabled" : (row.closed ? "disabled" : ""));
    cell(tr, row.vmci, row.vmciFiltering || row.vmciError ? "" : "nofilter");
    cell(tr, row.status, "status status-" + row.status.replace(/ /g, "-"));
    var td = document.createElement("td");
    td.className = "details";
    if (row.details.length) {
      var ul = document.createElement("ul");
      ul.className = "details";
      row.details.forEach(function (d) {
        var li = document.createElement("li");
        li.textContent = d.text;
        if (d.kind) { li.className = d.kind; }
        ul.appendChild(li);
      });
      td.appendChild(ul);
    }
    tr.appendChild(td);
    row.tr = tr;
  });

  function fill(select, values) {
    values.forEach(function (value) {
      var option = document.createElement("option");
      option.value = value;
      option.textContent = value;
      select.appendChild(option);
    });
  }
  function distinct(key) {
    var seen = {};
    rows.forEach(function (row) { seen[row[key]] = true; });
    return Object.keys(seen).filter(function (value) { return value !== ""; }).sort();
  }
  fill(filters.host, distinct("host"));
  fill(filters.cluster, distinct("cluster"));
  fill(filters.backing, distinct("backing"));
  fill(filters.status, distinct("status"));

  var sortKey = "vm", sortDir = 1;
  function compare(a, b) {
    var x = a[sortKey], y = b[sortKey];
    if (x === null || x === "") { return (y === null || y === "") ? 0 : 1; }
    if (y === null || y === "") { return -1; }
    if (typeof x === "number" && typeof y === "number") { return (x - y) * sortDir; }
    return String(x).localeCompare(String(y), undefined, { numeric: true }) * sortDir;
  }
  function render() {
    var ordered = rows.slice().sort(function (a, b) {
      return compare(a, b) || a.vm.localeCompare(b.vm, undefined, { numeric: true }) || ((a.port || 0) - (b.port || 0));
    });
    var fragment = document.createDocumentFragment();
    ordered.forEach(function (row) { fragment.appendChild(row.tr); });
    tbody.appendChild(fragment);
    apply();
  }
  function apply() {
    var needle = filters.vm.value.trim().toLowerCase();
    var count = 0;
    rows.forEach(function (row) {
      var visible = (!needle || row.vm.toLowerCase().indexOf(needle) >= 0) &&
        (!filters.host.value || row.host === filters.host.value) &&
        (!filters.cluster.value || row.cluster === filters.cluster.value) &&
        (!filters.backing.value || row.backing === filters.backing.value) &&
        (!filters.status.value || row.status === filters.status.value) &&
        (!filters.problems.checked || row.level !== "");
      row.tr.hidden = !visible;
      if (visible) { count += 1; }
    });
    shown.textContent = count + " of " + rows.length + " rows";
    document.getElementById("no-rows").hidden = count > 0;
  }

  document.querySelectorAll("#vms thead th[data-key]").forEach(function (th) {
    th.querySelector("button").addEventListener("click", function () {
      var key = th.getAttribute("data-key");
      sortDir = key === sortKey ? -sortDir : 1;
      sortKey = key;
      document.querySelectorAll("#vms thead th[data-key]").forEach(function (other) {
        other.removeAttribute("aria-sort");
      });
      th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
      render();
    });
  });
  filters.vm.addEventListener("input", apply);
  ["host", "cluster", "backing", "status", "problems"].forEach(function (name) {
    filters[name].addEventListener("change", apply);
  });
  render();
  document.documentElement.setAttribute("data-ready", "true");
  if (window.performance && performance.mark) { performance.mark("audit-ready"); }
})();
