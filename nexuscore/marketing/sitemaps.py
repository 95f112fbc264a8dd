"""The public site's pages for search engines, served at /sitemap.xml by Django's sitemaps app."""

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

PUBLIC_PAGES = ["home", "features", "pricing", "about", "contact", "privacy", "terms"]


class PublicPagesSitemap(Sitemap):
    changefreq = "monthly"

    def items(self):
        return PUBLIC_PAGES

    def location(self, item):
        return reverse(item)

    def priority(self, item):
        return 1.0 if item == "home" else 0.7
