from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('journeys', '0003_engine_hot_path_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='stepevent',
            name='to_node_id',
            field=models.CharField(blank=True, db_default='', default='', max_length=100),
        ),
    ]
