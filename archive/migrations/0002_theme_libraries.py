"""Create the four cultural-brand theme libraries, so every installation has them."""

from django.db import migrations

THEMES = [
    {
        "code": "red",
        "sort_order": 1,
        "name_hant": "紅色文化",
        "name_hans": "红色文化",
        "name_en": "Red culture",
        "introduction_hant": "廣州的革命歷史與紅色遺產：文獻、口述與影像。",
        "introduction_hans": "广州的革命历史与红色遗产：文献、口述与影像。",
        "introduction_en": "Guangzhou's revolutionary history and heritage in documents, voices and film.",
    },
    {
        "code": "lingnan",
        "sort_order": 2,
        "name_hant": "嶺南文化",
        "name_hans": "岭南文化",
        "name_en": "Lingnan culture",
        "introduction_hant": "嶺南的典籍、粵語、粵劇、茶樓與街坊生活。",
        "introduction_hans": "岭南的典籍、粤语、粤剧、茶楼与街坊生活。",
        "introduction_en": "The books, speech, opera, tea-houses and street life of Lingnan.",
    },
    {
        "code": "maritime",
        "sort_order": 3,
        "name_hant": "海絲文化",
        "name_hans": "海丝文化",
        "name_en": "Maritime Silk Road culture",
        "introduction_hant": "廣州作為海上絲綢之路港口的千年貿易與交流。",
        "introduction_hans": "广州作为海上丝绸之路港口的千年贸易与交流。",
        "introduction_en": "A thousand years of trade and exchange through the port of Guangzhou.",
    },
    {
        "code": "innovation",
        "sort_order": 4,
        "name_hant": "創新文化",
        "name_hans": "创新文化",
        "name_en": "Innovation culture",
        "introduction_hant": "廣州的科學、工藝與城市創新。",
        "introduction_hans": "广州的科学、工艺与城市创新。",
        "introduction_en": "Science, craft and urban innovation in Guangzhou.",
    },
]


def create_themes(apps, schema_editor):
    ThemeLibrary = apps.get_model("archive", "ThemeLibrary")
    for theme in THEMES:
        ThemeLibrary.objects.update_or_create(code=theme["code"], defaults=theme)


def remove_themes(apps, schema_editor):
    ThemeLibrary = apps.get_model("archive", "ThemeLibrary")
    ThemeLibrary.objects.filter(code__in=[t["code"] for t in THEMES]).delete()


class Migration(migrations.Migration):
    dependencies = [("archive", "0001_initial")]
    operations = [migrations.RunPython(create_themes, remove_themes)]
