from django.db import migrations

# ANALYZE gathers no statistics for the ID numbers' ciphertext and digest, in the workers' table
# and its history: no query compares a ciphertext, and the digest is looked up through its unique
# index, which tells the planner all it needs. They were the widest columns sampled: a 100,000-row
# first import's ANALYZE of the two tables took 0.73 s with them, 0.52 s without
# (benchmarks/README.md, session 20). PostgreSQL only; -1 puts the default back.
COLUMNS = [
    ("placement_worker", "id_number_cipher"),
    ("placement_worker", "id_number_digest"),
    ("placement_historicalworker", "id_number_cipher"),
    ("placement_historicalworker", "id_number_digest"),
]


def statistics(target):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        quote = schema_editor.quote_name
        for table, column in COLUMNS:
            schema_editor.execute(
                f"ALTER TABLE {quote(table)} ALTER COLUMN {quote(column)} SET STATISTICS {target}"
            )

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("placement", "0011_derived_placed_open_since_and_enterprise"),
    ]

    operations = [migrations.RunPython(statistics(0), statistics(-1))]
