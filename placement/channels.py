"""The nine placement channels (安置渠道), their official categories (四个一批) and what each
does to the labour relation (劳动关系). Reports, imports and the admin read the mapping here."""

from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    INTERNAL_TRANSFER = "internal_transfer", _("内部安置")
    TRAINING_TRANSFER = "training_transfer", _("培训转岗")
    INTERNAL_RETIREMENT = "internal_retirement", _("内部退养")
    OUTSIDE_DIVERSION = "outside_diversion", _("外部分流")
    TRANSFER_EMPLOYMENT = "transfer_employment", _("转移就业")
    SELF_EMPLOYMENT = "self_employment", _("自主择业")
    FLEXIBLE_EMPLOYMENT = "flexible_employment", _("灵活就业")
    ENTREPRENEURSHIP = "entrepreneurship", _("创新创业")
    PUBLIC_WELFARE_POST = "public_welfare_post", _("公益性岗位托底安置")


class Category(models.TextChoices):
    """The four official categories of 人社部发〔2016〕32号 ("四个一批")."""

    INTERNAL_PLACEMENT = "internal_placement", _("内部安置")
    INTERNAL_RETIREMENT = "internal_retirement", _("内部退养")
    REEMPLOYMENT = "reemployment", _("转岗就业创业")
    FALLBACK = "fallback", _("公益性岗位托底")


class LabourRelation(models.TextChoices):
    KEPT = "kept", _("保留")
    RETIREMENT_IN_PLACE = "retirement_in_place", _("保留（内退）")
    ENDED = "ended", _("解除或终止")


# channel: (category, labour relation). Entrepreneurship may also keep the relation under a
# leave-to-start-a-business agreement; the default outcome is the ended relation.
CHANNEL_OUTCOMES: dict[str, tuple[str, str]] = {
    Channel.INTERNAL_TRANSFER: (Category.INTERNAL_PLACEMENT, LabourRelation.KEPT),
    Channel.TRAINING_TRANSFER: (Category.INTERNAL_PLACEMENT, LabourRelation.KEPT),
    Channel.INTERNAL_RETIREMENT: (Category.INTERNAL_RETIREMENT, LabourRelation.RETIREMENT_IN_PLACE),
    Channel.OUTSIDE_DIVERSION: (Category.REEMPLOYMENT, LabourRelation.ENDED),
    Channel.TRANSFER_EMPLOYMENT: (Category.REEMPLOYMENT, LabourRelation.ENDED),
    Channel.SELF_EMPLOYMENT: (Category.REEMPLOYMENT, LabourRelation.ENDED),
    Channel.FLEXIBLE_EMPLOYMENT: (Category.REEMPLOYMENT, LabourRelation.ENDED),
    Channel.ENTREPRENEURSHIP: (Category.REEMPLOYMENT, LabourRelation.ENDED),
    Channel.PUBLIC_WELFARE_POST: (Category.FALLBACK, LabourRelation.ENDED),
}


def channel_category(channel: str) -> str:
    return CHANNEL_OUTCOMES[channel][0]


def channel_labour_relation(channel: str) -> str:
    return CHANNEL_OUTCOMES[channel][1]


# Names seen in rosters besides the official ones (DOMAIN.md), matched after removing spaces.
CHANNEL_ALIASES: dict[str, str] = {
    "内部转岗": Channel.INTERNAL_TRANSFER,
    "内部安置（转岗）": Channel.INTERNAL_TRANSFER,
    "内部安置(转岗)": Channel.INTERNAL_TRANSFER,
    "公益性岗位": Channel.PUBLIC_WELFARE_POST,
    "公益性岗位托底": Channel.PUBLIC_WELFARE_POST,
    "内退": Channel.INTERNAL_RETIREMENT,
}


def channel_from_name(name: str) -> str | None:
    """The channel code for a Chinese (or English) name or code as written in a roster."""
    key = "".join(str(name).split())
    for channel in Channel:
        with translation.override("zh-hans"):
            chinese = str(channel.label)
        with translation.override("en"):
            english = str(channel.label)
        if key in (channel.value, chinese) or key.lower() == "".join(english.split()).lower():
            return channel.value
    return CHANNEL_ALIASES.get(key)
