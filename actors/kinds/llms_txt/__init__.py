"""The llms_txt job kind: discover and fetch a site's pages, describe them, and assemble llms.txt and llms-full.txt."""
