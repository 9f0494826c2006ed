// The 331 inspection form: "再加一间房" adds a room row in place (without a reload) by
// copying the last row with fresh ids and names; without JavaScript the button posts
// the form back with one more row. Loaded with defer; CSP-safe (no inline code).
(function () {
  "use strict";
  var form = document.querySelector("[data-inspection-form]");
  if (!form) return;
  var rooms = form.querySelector("[data-rooms]");
  var count = form.querySelector("[data-room-count]");
  var add = form.querySelector("[data-add-room]");
  if (!rooms || !count || !add) return;
  add.addEventListener("click", function (event) {
    var rows = rooms.querySelectorAll("[data-room]");
    var last = rows[rows.length - 1];
    if (!last || rows.length >= 60) return;
    event.preventDefault();
    var index = rows.length;
    var copy = last.cloneNode(true);
    copy.classList.remove("has-error");
    copy.querySelectorAll("input").forEach(function (input) {
      var name = input.getAttribute("name").replace(/^room-\d+/, "room-" + index);
      input.setAttribute("name", name);
      input.setAttribute("id", name);
      if (input.type === "checkbox") input.checked = false; else input.value = "";
      if (input.placeholder) input.placeholder = String(index + 1) + "01";
    });
    copy.querySelectorAll("label").forEach(function (label) {
      label.setAttribute("for", label.getAttribute("for").replace(/^room-\d+/, "room-" + index));
    });
    rooms.appendChild(copy);
    count.value = String(index + 1);
    var first = copy.querySelector("input");
    if (first) first.focus();
  });
})();
