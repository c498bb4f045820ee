import pytest
from django.core.exceptions import ValidationError

from enterprises.models import Enterprise, Region
from enterprises.validators import CREDIT_CODE_INVALID, normalize_credit_code
from placement.demo import credit_code


def test_migrate_loads_all_of_shanxis_current_regions(db):
    assert Region.objects.filter(level=Region.Level.PROVINCE).count() == 1
    assert Region.objects.filter(level=Region.Level.CITY).count() == 11
    assert Region.objects.filter(level=Region.Level.COUNTY).count() == 117
    xiaodian = Region.objects.get(code="140105")
    assert (xiaodian.name, xiaodian.parent.code, xiaodian.parent.parent.code) == (
        "小店区",
        "140100",
        "140000",
    )
    # A district abolished in 2018 is not a current region.
    assert not Region.objects.filter(code="140202").exists()


def test_a_region_subtree_is_its_code_prefix(db):
    taiyuan = Region.objects.get(code="140100")
    codes = set(Region.objects.subtree_of(taiyuan).values_list("code", flat=True))
    assert "140100" in codes and "140105" in codes and "140212" not in codes


def test_a_valid_credit_code_passes_full_clean(xiaodian):
    enterprise = Enterprise(
        name="测试煤矿", credit_code=credit_code("140105", 1), industry="coal", region=xiaodian
    )
    enterprise.full_clean()


@pytest.mark.parametrize(
    "code",
    [
        "91140105000000001",  # too short
        "91140105000000001Z",  # wrong check digit
        "9114010500000000IO",  # letters outside the alphabet
    ],
)
def test_it_refuses_a_bad_credit_code(xiaodian, code):
    enterprise = Enterprise(name="测试煤矿", credit_code=code, industry="coal", region=xiaodian)
    with pytest.raises(ValidationError) as exc:
        enterprise.full_clean()
    assert exc.value.message_dict["credit_code"] == [str(CREDIT_CODE_INVALID)]


def test_credit_codes_are_normalised_before_checking():
    assert normalize_credit_code(" ９１１４０１０５\u200b000000001x ") == "91140105000000001X"


def test_a_credit_code_is_unique(make_enterprise, xiaodian):
    first = make_enterprise()
    duplicate = Enterprise(
        name="另一煤矿", credit_code=first.credit_code, industry="coal", region=xiaodian
    )
    with pytest.raises(ValidationError) as exc:
        duplicate.full_clean()
    assert "该统一社会信用代码已登记" in str(exc.value)


def test_a_group_sees_its_members(make_enterprise):
    group = make_enterprise(name="测试集团")
    mine = make_enterprise(name="测试集团一矿", parent=group)
    other = make_enterprise(name="别家煤矿")
    assert set(Enterprise.objects.in_group(group)) == {group, mine}
    assert other not in Enterprise.objects.in_group(group)
