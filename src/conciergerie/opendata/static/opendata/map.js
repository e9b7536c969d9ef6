/* The places map: reads the GeoJSON named by #carte's data-geojson and puts one marker per
   place. Plain ES5 so old phones run it; without it the page's list says the same. */
(function () {
  "use strict";
  var box = document.getElementById("carte");
  if (!box || !window.L || !window.fetch) { return; }

  function fail() {
    box.hidden = true;
    var note = document.createElement("p");
    note.className = "od-error";
    note.setAttribute("role", "status");
    note.textContent = box.getAttribute("data-error");
    box.parentNode.insertBefore(note, box.nextSibling);
  }

  // Built with text nodes, never HTML: a place's name is whatever its team typed.
  function popup(props) {
    var root = document.createElement("div");
    root.className = "od-popup";
    var link = document.createElement("a");
    link.href = props.url;
    link.textContent = props.name;
    root.appendChild(link);
    // A place followed on another instance says where it comes from: "réseau : exemple.org".
    var network = props.origin && props.origin !== "local"
      ? box.getAttribute("data-network") + " " + props.origin : "";
    var line = [props.city, props.typology_label, network].filter(Boolean).join(" · ");
    if (line) {
      root.appendChild(document.createElement("br"));
      root.appendChild(document.createTextNode(line));
    }
    return root;
  }

  box.hidden = false;
  var map = L.map(box, { scrollWheelZoom: false }).setView([46.6, 2.4], 5);  // France
  L.tileLayer(box.getAttribute("data-tiles"), {
    maxZoom: 19,
    attribution: box.getAttribute("data-attribution"),
    // The site sends no Referer off-site; OpenStreetMap's tile servers refuse requests without.
    referrerPolicy: "strict-origin-when-cross-origin"
  }).addTo(map);

  fetch(box.getAttribute("data-geojson"), { headers: { Accept: "application/geo+json" } })
    .then(function (response) {
      if (!response.ok) { throw new Error(response.status); }
      return response.json();
    })
    .then(function (data) {
      var layer = L.geoJSON(data, {
        onEachFeature: function (feature, marker) { marker.bindPopup(popup(feature.properties)); }
      }).addTo(map);
      if (layer.getLayers().length) {
        map.fitBounds(layer.getBounds(), { maxZoom: 14, padding: [24, 24] });
      }
    })
    .catch(fail);
})();
