"""Move the files stored on this machine's disk (MEDIA_ROOT/<schema>/...) into the bucket.

Run once after setting AWS_STORAGE_BUCKET_NAME, on each machine that kept files (the web
machines that took uploads, the worker that wrote PDFs and exports). Each file keeps its name
below its schema's prefix, the key the bucket storage reads it from, so no row changes. A file
is deleted locally only once the bucket holds it at the same size; running the command again
moves what is left and nothing twice.
"""

import posixpath

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage, storages
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from nexuscore.lib.storage import in_bucket


def local_files(storage, folder=""):
    """Every file's name under `folder`, walking down."""
    folders, files = storage.listdir(folder)
    for name in sorted(files):
        yield posixpath.join(folder, name)
    for name in sorted(folders):
        yield from local_files(storage, posixpath.join(folder, name))


class Command(BaseCommand):
    help = "Move files from MEDIA_ROOT into the bucket named by AWS_STORAGE_BUCKET_NAME."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would move; move nothing."
        )

    def handle(self, *args, dry_run=False, **options):
        if not in_bucket(default_storage):
            raise CommandError(
                "No bucket is configured: set AWS_STORAGE_BUCKET_NAME (and the AWS_* "
                "variables) for this command, as for the web and worker processes."
            )
        # The bucket's storage, writing each file at exactly its name (no suffix for a taken
        # name: a file that is there at another size is an earlier copy to replace).
        default = settings.STORAGES["default"]
        options = {**default.get("OPTIONS", {}), "file_overwrite": True}
        bucket = storages.create_storage({**default, "OPTIONS": options})
        local = FileSystemStorage(location=settings.MEDIA_ROOT)
        moved = present = size = 0
        verb = "Would move" if dry_run else "Moved"
        for path in local_files(local) if local.exists("") else []:
            schema, _, name = path.partition("/")
            if not name:
                self.stderr.write(f"Skipped {path}: it is in no organisation's folder.")
                continue
            length = local.size(path)
            with schema_context(schema):
                key = posixpath.join(bucket.location, name)
                already = bucket.exists(name) and bucket.size(name) == length
                if not dry_run and not already:
                    with local.open(path, "rb") as content:
                        bucket.save(name, content)
                    if bucket.size(name) != length:
                        raise CommandError(f"{key} arrived at another size; {path} is kept.")
            if already:
                present += 1
                self.stdout.write(f"Already in the bucket: {key} ({path}).")
            else:
                moved += 1
                size += length
                self.stdout.write(f"{verb} {path} to {key} ({length:,} bytes).")
            if not dry_run:
                local.delete(path)
        if not moved and not present:
            self.stdout.write(f"Nothing to move: no files under {settings.MEDIA_ROOT}.")
            return
        deleted = "kept" if dry_run else "deleted"
        self.stdout.write(
            f"{verb} {moved} file(s), {size:,} bytes; {present} already in the bucket; "
            f"the local copies are {deleted}."
        )
