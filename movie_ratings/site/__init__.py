"""The movie site: static, self-contained pages rendered from :class:`SiteData`.

``build_site(data, out_dir)`` renders and publishes atomically; ``movie-ratings site`` serves
the published folder on 127.0.0.1 (:mod:`movie_ratings.site.server`).
"""

from movie_ratings.site.data import (
    Contribution,
    CoveragePoint,
    FilmCard,
    MaePoint,
    MonitoredFilm,
    PastPrediction,
    SiteData,
)
from movie_ratings.site.publish import build_site

__all__ = ["Contribution", "CoveragePoint", "FilmCard", "MaePoint", "MonitoredFilm", "PastPrediction",
           "SiteData", "build_site"]
