# The upload limits now belong to accounts (accounts/0002 took over the table); state only.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("uploads", "0004_uploaditem_quota_held"),
        ("accounts", "0002_upload_limits_move_here"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="UploadLimits")],
        ),
    ]
