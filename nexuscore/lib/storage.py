"""Where stored files live (invoice PDFs, CSV imports and their reports, privacy exports), and
how a view hands one out.

Each organisation's files are under its own prefix: the schema that is active when a file is
saved or opened. Locally that is django-tenants' `TenantFileSystemStorage`
(`MEDIA_ROOT/<schema>/`); with `AWS_STORAGE_BUCKET_NAME` set it is `OrganisationS3Storage`, a
private bucket keyed `[AWS_LOCATION/]<schema>/<name>`. A FileField stores the name below the
prefix (`imports/<id>.csv`), the same for both backends, so a request on one organisation's host
cannot reach a key under another's, and `move_files_to_bucket` copies local files across
without touching a row.

Nothing is ever served from a public address: a view checks permission, then either streams the
file (`file_response`) or, for large files in the bucket, redirects to a URL signed for a few
minutes (`file_response(..., signed_redirect=True)`).
"""

import posixpath

from django.db import connection
from django.http import FileResponse, HttpResponseRedirect
from django.utils.http import content_disposition_header
from storages.backends.s3 import S3Storage

# How long a signed bucket URL works: long enough for the browser to follow the redirect and
# start the download, short enough that a URL copied from the address bar is soon useless.
SIGNED_URL_SECONDS = 300


class OrganisationS3Storage(S3Storage):
    """django-storages' S3 backend with the active schema appended to the location."""

    @property
    def location(self):
        return posixpath.join(self.base_location, connection.schema_name)

    @location.setter
    def location(self, value):
        # S3Storage sets `location` from AWS_LOCATION (or OPTIONS): the part before the schema.
        self.base_location = value.strip("/")


def in_bucket(storage) -> bool:
    return isinstance(storage, S3Storage)


def signed_url(fieldfile, *, filename: str, content_type: str) -> str:
    """A bucket URL that downloads the file as `filename` for SIGNED_URL_SECONDS."""
    parameters = {
        "ResponseContentDisposition": content_disposition_header(True, filename),
        "ResponseContentType": content_type,
    }
    return fieldfile.storage.url(fieldfile.name, parameters=parameters, expire=SIGNED_URL_SECONDS)


def file_response(fieldfile, *, filename: str, content_type: str, signed_redirect=False):
    """The file as a download. Call it after the view's permission check: the file is streamed
    through this response, or, with `signed_redirect` and the files in a bucket, fetched by the
    browser from a short-lived signed URL so that no web worker is held for a large download.
    Local files are always streamed (nothing else can serve them)."""
    if signed_redirect and in_bucket(fieldfile.storage):
        return HttpResponseRedirect(
            signed_url(fieldfile, filename=filename, content_type=content_type)
        )
    return FileResponse(
        fieldfile.open("rb"), as_attachment=True, filename=filename, content_type=content_type
    )
