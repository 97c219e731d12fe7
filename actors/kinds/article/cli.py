"""``python -m service catalog ...``: manage the catalog from a shell (the same code as the admin endpoints).

    catalog list
    catalog add-domain HOST --article-price CENTS --backlink-price CENTS [--niche N] [--language en] [--currency usd]
    catalog add-article HOST --title T --url URL [--body-file FILE.md]
    catalog import-llms JOB_ID      # the domain's articles from a finished llms_txt job of its site

Reads ``DATABASE_URL`` and ``ARTIFACTS_DIR`` as the API does.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

from sqlalchemy import select

from actors.kinds.article import catalog
from actors.kinds.article.models import CatalogArticle, CatalogDomain


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("catalog", help="manage the article catalog (publisher domains and their articles)")
    commands = parser.add_subparsers(dest="catalog_command", required=True)
    commands.add_parser("list", help="the domains and their articles, as JSON").set_defaults(func=run_catalog)
    domain = commands.add_parser("add-domain", help="add a publisher domain")
    domain.add_argument("hostname")
    domain.add_argument("--article-price", type=int, required=True, help="price of a new article, in cents")
    domain.add_argument("--backlink-price", type=int, required=True, help="price of a backlink, in cents")
    domain.add_argument("--niche", default="")
    domain.add_argument("--language", default="en")
    domain.add_argument("--currency", default="usd")
    domain.set_defaults(func=run_catalog)
    article = commands.add_parser("add-article", help="add an existing article of a domain")
    article.add_argument("hostname")
    article.add_argument("--title", required=True)
    article.add_argument("--url", required=True)
    article.add_argument("--body-file", type=Path, default=None, help="the article's Markdown")
    article.set_defaults(func=run_catalog)
    imported = commands.add_parser("import-llms", help="fill a domain's articles from a finished llms_txt job")
    imported.add_argument("job_id", type=uuid.UUID)
    imported.set_defaults(func=run_catalog)


def run_catalog(args: argparse.Namespace) -> int:
    from db.engine import make_engine, make_sessionmaker
    from service.settings import get_settings

    settings = get_settings()
    engine = make_engine(settings.database.sync_url, pool_size=1)
    try:
        with make_sessionmaker(engine)() as session, session.begin():
            out = _run(session, args, settings.artifacts_dir)
    except catalog.CatalogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(json.dumps(out, indent=2))
    return 0


def _run(session: object, args: argparse.Namespace, artifacts_dir: str) -> object:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    command = args.catalog_command
    if command == "add-domain":
        d = catalog.add_domain(
            session,
            args.hostname,
            article_price_cents=args.article_price,
            backlink_price_cents=args.backlink_price,
            niche=args.niche,
            language=args.language,
            currency=args.currency,
        )
        return {"id": str(d.id), "hostname": d.hostname}
    if command == "add-article":
        body = args.body_file.read_text(encoding="utf-8") if args.body_file else ""
        a = catalog.add_article(
            session, catalog.find_domain(session, args.hostname), title=args.title, url=args.url, body=body
        )
        return {"id": str(a.id), "url": a.url}
    if command == "import-llms":
        d, added, updated = catalog.import_llms(session, artifacts_dir, args.job_id)
        return {"domain": d.hostname, "added": added, "updated": updated}
    domains = session.scalars(select(CatalogDomain).order_by(CatalogDomain.hostname)).all()
    return [
        {
            "id": str(d.id),
            "hostname": d.hostname,
            "language": d.language,
            "article_price_cents": d.article_price_cents,
            "backlink_price_cents": d.backlink_price_cents,
            "articles": [
                {"id": str(a.id), "title": a.title, "url": a.url}
                for a in session.scalars(select(CatalogArticle).where(CatalogArticle.domain_id == d.id)).all()
            ],
        }
        for d in domains
    ]
