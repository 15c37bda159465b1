from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audiences', '0003_indexes_for_bulk_writes'),
        ('journeys', '0004_stepevent_to_node_id'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='enrollment',
            name='enrollment_customer_state',
        ),
        migrations.AddIndex(
            model_name='enrollment',
            index=models.Index(fields=['customer', 'journey'], name='enrollment_customer_journey'),
        ),
    ]
