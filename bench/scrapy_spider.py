"""The fetch benchmark's peer: Scrapy crawling the same local sites with the same politeness.

Run by bench/fetch.sh (through benches/fetch.rs), not by hand:
    scrapy runspider bench/scrapy_spider.py -a sitemaps=FILE -a delay=SECONDS -O FILE.jsonl
Each sitemap's pages are fetched (robots.txt obeyed, one request at a time per host, DOWNLOAD_DELAY
between them), and each page's title and paragraphs are written as one JSON line, as newsfold's
records are.
"""
import scrapy
from scrapy.spiders import SitemapSpider


class Bench(SitemapSpider):
    name = "bench"

    def __init__(self, sitemaps, delay="0", *a, **kw):
        super().__init__(*a, **kw)
        with open(sitemaps, encoding="utf-8") as f:
            self.sitemap_urls = [line.strip() for line in f if line.strip()]
        self.download_delay = float(delay)

    @classmethod
    def update_settings(cls, settings):
        super().update_settings(settings)
        settings.setdict(
            {
                "ROBOTSTXT_OBEY": True,
                "CONCURRENT_REQUESTS": 64,
                "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
                "RANDOMIZE_DOWNLOAD_DELAY": False,
                "RETRY_TIMES": 1,
                "COOKIES_ENABLED": False,
                "TELNETCONSOLE_ENABLED": False,
                "LOG_LEVEL": "WARNING",
                "USER_AGENT": "scrapy-bench (+https://scrapy.org)",
            },
            priority="spider",
        )

    def parse(self, response):
        yield {
            "url": response.url,
            "title": response.css("h1::text").get(),
            "body": "\n\n".join(
                t.strip() for t in response.css("[itemprop=articleBody] p::text").getall() if t.strip()
            ),
        }
