"""movie-ratings: predict IMDb ratings of upcoming films from a daily TMDB snapshot."""

__version__ = "0.1.0"
