"""The options of the S3-compatible storage (django-storages' S3Storage), shared by the settings
and the tests so that both run the same configuration.

No key passes through here: boto3 finds its credentials itself (AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, a profile, or an instance role), so no settings dump, error page or log
line can show them.
"""

from botocore.config import Config
from django.core.exceptions import ImproperlyConfigured

# Reading a blob whole (decoding, the editor) spools it to a temporary file past this size, so a
# large blob is never held in memory in full.
MAX_MEMORY_SIZE = 2 * 1024 * 1024
ADDRESSING_STYLES = ("auto", "path", "virtual")


def s3_options(
    bucket: str,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    prefix: str = "",
    addressing_style: str | None = None,
) -> dict:
    """OPTIONS for storages.backends.s3.S3Storage. A custom endpoint (SeaweedFS, MinIO, Ceph)
    gets path-style addressing unless told otherwise: such servers rarely have a DNS name per
    bucket."""
    style = addressing_style or ("path" if endpoint_url else "auto")
    if style not in ADDRESSING_STYLES:
        raise ImproperlyConfigured(
            f"FUNDUSHUB_S3_ADDRESSING_STYLE must be one of {', '.join(ADDRESSING_STYLES)}, "
            f"not {style!r}"
        )
    return {
        "bucket_name": bucket,
        "endpoint_url": endpoint_url or None,
        "region_name": region or None,
        "location": prefix.strip("/"),
        # Content-addressed keys: writing a key again writes the same bytes, never a renamed copy.
        "file_overwrite": True,
        "default_acl": None,  # the bucket's own (private) policy
        "querystring_auth": True,
        "max_memory_size": MAX_MEMORY_SIZE,
        "client_config": Config(
            s3={"addressing_style": style},
            # boto3 >= 1.36 sends checksum headers that some S3-compatible stores reject.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"mode": "standard", "max_attempts": 5},
        ),
    }
