"""Reception's search of the diary (name, email, phone, and the phone's digits) through one trigram index.

Django's admin search asks `UPPER(column) LIKE UPPER('%term%')` of each field, and `booking.models.phone_digits()`
LIKE '%digits%'; no btree can answer a match inside a value, so at 100,000 appointments every search read the
whole table four times (the list, its count, and the date navigation's two), 0.8-1.7 s. A GIN index of trigrams
(`pg_trgm`) answers each as a bitmap. PostgreSQL only: SQLite, the zero-setup database, scans, as it did. The index
is not on the model (Django would build it on SQLite too); its expressions must stay those the admin sends, which
`tests/integration/test_diary_search.py` checks by the plans.
"""

from django.db import migrations

DIGITS = "(patient_phone)::text"
for mark in " -().+":
    DIGITS = f"replace({DIGITS}, '{mark}'::text, ''::text)"

CREATE = f"""
CREATE INDEX IF NOT EXISTS appointment_patient_search ON booking_appointment USING gin (
    upper((patient_name)::text) gin_trgm_ops,
    upper((patient_email)::text) gin_trgm_ops,
    upper((patient_phone)::text) gin_trgm_ops,
    ({DIGITS}) gin_trgm_ops
)
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS appointment_patient_search")


class Migration(migrations.Migration):
    dependencies = [("booking", "0016_appointment_start_index")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
