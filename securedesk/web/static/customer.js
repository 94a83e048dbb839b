/* The call-back form: preselect the browser's own time zone (the server validates whatever is sent). */
(function () {
  "use strict";
  var select = document.getElementById("time_zone");
  if (!select || select.getAttribute("data-chosen") === "true") {
    return;
  }
  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    return;
  }
  if (!/^[A-Za-z][A-Za-z0-9_+\-]*(\/[A-Za-z0-9_+\-]+){0,2}$/.test(zone)) {
    return;
  }
  var present = false;
  for (var i = 0; i < select.options.length; i += 1) {
    if (select.options[i].value === zone) {
      present = true;
      break;
    }
  }
  if (!present) {
    var option = document.createElement("option");
    option.value = zone;
    option.textContent = zone;
    select.insertBefore(option, select.firstChild);
  }
  select.value = zone;
})();
