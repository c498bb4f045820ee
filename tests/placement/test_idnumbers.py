import datetime

import pytest
from django.core.exceptions import ValidationError

from placement import idnumbers
from tests.conftest import synthetic_id


def codes(exc_info):
    return [error.code for error in exc_info.value.error_list]


def test_it_accepts_a_valid_number_and_reads_birth_date_and_sex():
    number = synthetic_id(birth="19700501", seq=123)
    parsed = idnumbers.parse(number)
    assert parsed.number == number
    assert str(parsed.birth_date) == "1970-05-01"
    assert parsed.sex == "M"
    assert idnumbers.parse(synthetic_id(seq=124)).sex == "F"


def test_it_normalises_full_width_spaces_zero_width_and_lowercase_x():
    number = next(
        synthetic_id(seq=seq) for seq in range(1, 999) if synthetic_id(seq=seq).endswith("X")
    )
    typed = " " + number[:-1].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    typed = typed[:5] + "\u200b" + typed[5:] + "x "
    assert idnumbers.normalize(typed) == number


def test_it_converts_a_15_digit_number_to_18():
    old = "140105700501123"
    assert idnumbers.normalize(old) == synthetic_id(birth="19700501", seq=123)


def test_it_refuses_a_bad_check_digit():
    number = synthetic_id()
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    with pytest.raises(ValidationError) as exc:
        idnumbers.parse(wrong)
    assert codes(exc) == ["bad_check_digit"]


def test_it_refuses_an_impossible_birth_date():
    with pytest.raises(ValidationError) as exc:
        idnumbers.parse(idnumbers.with_check_digit("14010519700231123"))
    assert codes(exc) == ["bad_birth_date"]


def test_it_refuses_a_region_code_never_in_the_table():
    with pytest.raises(ValidationError) as exc:
        idnumbers.parse(idnumbers.with_check_digit("14999919700501123"))
    assert codes(exc) == ["unknown_region"]


def test_it_accepts_a_district_created_after_the_birth_year():
    # 140105 小店区 exists since 1997; people born before then got numbers with it later.
    assert idnumbers.parse(synthetic_id(region="140105", birth="19650301")).region_code == "140105"


@pytest.mark.parametrize("typed", [1.40105197005012e17, 140105197005011234, "1.40105197005E+17"])
def test_it_refuses_a_number_that_was_stored_as_a_number(typed):
    with pytest.raises(ValidationError) as exc:
        idnumbers.normalize(typed)
    assert codes(exc) == ["lost_digits"]


def test_mask_hides_the_birth_date_and_sequence():
    assert idnumbers.mask("14012119700501101X") == "140121********101X"


def test_storage_is_encrypted_and_looked_up_by_keyed_hash():
    number = synthetic_id()
    token = idnumbers.encrypt(number)
    assert number not in token
    assert idnumbers.decrypt(token) == number
    assert idnumbers.digest(number) == idnumbers.digest(number)
    assert number not in idnumbers.digest(number)


def test_it_refuses_a_birth_date_in_the_future():
    from django.utils import timezone

    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    number = idnumbers.with_check_digit(f"140105{tomorrow:%Y%m%d}123")
    with pytest.raises(ValidationError) as exc:
        idnumbers.parse(number)
    assert codes(exc) == ["bad_birth_date"]
    today = idnumbers.with_check_digit(f"140105{timezone.localdate():%Y%m%d}123")
    assert idnumbers.parse(today).birth_date == timezone.localdate()


def test_the_digest_is_hmac_sha256_of_the_number_with_the_key(settings):
    import hashlib
    import hmac

    number = synthetic_id()
    for key in ["k", "test-only-hmac-key-do-not-use-in-production", "长" * 40]:
        settings.LEDGER_ID_HMAC_KEY = key
        expected = hmac.new(key.encode(), number.encode(), hashlib.sha256).hexdigest()
        assert idnumbers.digest(number) == expected


def test_encrypt_many_is_read_back_by_decrypt_with_a_fresh_iv_each():
    numbers = [synthetic_id(seq=seq) for seq in range(50)]
    tokens = idnumbers.encrypt_many(numbers)
    assert [idnumbers.decrypt(token) for token in tokens] == numbers
    assert len(set(tokens)) == len(tokens)
    assert idnumbers.encrypt_many([numbers[0]]) != tokens[:1]
