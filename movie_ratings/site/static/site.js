// movie-ratings site: poster fallback, search and sort of the film cards.
// Loaded as a file of the site itself (no inline script, no external code). The data it sorts
// on comes from the page's <script type="application/json" id="film-index"> block.
(function () {
  "use strict";

  // A poster that cannot load (missing, offline, blocked) shows the bundled placeholder.
  function usePlaceholder(img) {
    var placeholder = img.getAttribute("data-placeholder");
    if (placeholder && img.getAttribute("src") !== placeholder) {
      img.setAttribute("src", placeholder);
      img.classList.add("is-placeholder");
    }
  }
  document.querySelectorAll("img[data-placeholder]").forEach(function (img) {
    img.addEventListener("error", function () { usePlaceholder(img); });
    // The error may have fired before this script ran.
    if (img.complete && img.naturalWidth === 0) { usePlaceholder(img); }
  });

  var list = document.getElementById("cards");
  var dataBlock = document.getElementById("film-index");
  if (!list || !dataBlock) { return; }
  // One record per card, in the page's order (most recently updated first).
  var films = JSON.parse(dataBlock.textContent);
  var cards = Array.prototype.slice.call(list.querySelectorAll("li.card"));
  var search = document.getElementById("search");
  var sort = document.getElementById("sort");
  var count = document.getElementById("count");
  var noMatch = document.getElementById("no-match");

  function filmOf(card) { return films[Number(card.getAttribute("data-index"))] || {}; }

  function searchText(film) {
    return ((film.title || "") + " " + (film.genres || []).join(" ")).toLowerCase();
  }

  // Descending on numbers / ISO dates, missing values last; ties by the original order.
  function compareDesc(key) {
    return function (a, b) {
      var x = filmOf(a)[key], y = filmOf(b)[key];
      if (x === y || (x == null && y == null)) { return order(a) - order(b); }
      if (x == null) { return 1; }
      if (y == null) { return -1; }
      return x < y ? 1 : -1;
    };
  }
  function order(card) { return Number(card.getAttribute("data-index")); }
  var comparators = {
    updated: function (a, b) { return order(a) - order(b); },
    rating: compareDesc("rating"),
    release: compareDesc("release"),
    title: function (a, b) {
      var x = (filmOf(a).title || "").toLowerCase(), y = (filmOf(b).title || "").toLowerCase();
      return x < y ? -1 : x > y ? 1 : order(a) - order(b);
    }
  };

  function apply() {
    var query = (search ? search.value : "").trim().toLowerCase();
    var comparator = comparators[sort ? sort.value : "updated"] || comparators.updated;
    var shown = 0;
    cards.slice().sort(comparator).forEach(function (card) {
      var match = query === "" || searchText(filmOf(card)).indexOf(query) !== -1;
      card.hidden = !match;
      if (match) { shown += 1; }
      list.appendChild(card);
    });
    if (count) {
      count.textContent = shown === cards.length
        ? cards.length + (cards.length === 1 ? " film" : " films")
        : shown + " of " + cards.length + " films";
    }
    if (noMatch) { noMatch.hidden = shown !== 0; }
  }

  if (search) { search.addEventListener("input", apply); }
  if (sort) { sort.addEventListener("change", apply); }
  apply();
})();
