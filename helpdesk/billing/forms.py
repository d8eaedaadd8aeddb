"""Billing forms: shape only. Rules (who may buy what, for which bank) live in the services."""

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    EmailField,
    HiddenField,
    SelectField,
    StringField,
)
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from helpdesk import money
from helpdesk.formfields import Filled, IntegerField, db_int
from helpdesk.web import page_number


class BuyForm(FlaskForm):
    """One buy button: the pack and the page's nonce (double clicks share it). The bank is not
    chosen: a purchase credits the bank its buyer spends from."""

    pack_id = HiddenField(validators=[InputRequired(), Regexp(r"^\d{1,9}$")])
    nonce = HiddenField(validators=[InputRequired(), Length(min=16, max=64)])


class SubscribeForm(FlaskForm):
    """One subscribe button: the plan and the page's nonce (double clicks share it)."""

    plan_id = HiddenField(validators=[InputRequired(), Regexp(r"^\d{1,9}$")])
    nonce = HiddenField(validators=[InputRequired(), Length(min=16, max=64)])


class TopUpForm(FlaskForm):
    """The automatic top-up rule: under which balance, which pack; and the page's nonce."""

    threshold = IntegerField(
        "When the balance falls under (credits)",
        validators=[InputRequired(), NumberRange(min=0, max=10_000_000)],
    )
    pack_id = SelectField("Buy this pack", coerce=db_int, validators=[InputRequired()])
    enabled = BooleanField("Top up automatically", default=True)
    nonce = HiddenField(validators=[InputRequired(), Length(min=16, max=64)])


class DemoCheckoutForm(FlaskForm):
    """The fake checkout page's Pay / Cancel buttons (CSRF only)."""


class PackForm(FlaskForm):
    name = StringField("Name", validators=[Filled(), Length(max=100)])
    credits = IntegerField("Credits", validators=[InputRequired(), NumberRange(min=1, max=10_000_000)])
    price = DecimalField(
        "Price",
        places=None,  # shown as stored: 50.00 USD, 500 JPY
        validators=[InputRequired(), NumberRange(min=Decimal("0.001"), max=Decimal("1000000"))],
        description="In the currency's main unit, e.g. 50.00 (USD) or 5000 (JPY).",
    )
    currency = StringField(
        "Currency", validators=[InputRequired(), Regexp(r"^[A-Za-z]{3}$", message="Three letters, e.g. usd.")]
    )
    active = BooleanField("On sale", default=True)
    # credits' settings_version("pack", id) when the edit page was shown: a save after someone
    # else's is refused (none for a new pack)
    seen_change = HiddenField(validators=[Optional(), Length(max=18)])

    @classmethod
    def for_pack(cls, pack, default_currency, **kwargs):
        """The form for editing `pack` (price shown in main units), or a blank one for a new pack
        (`kwargs`: FlaskForm's, e.g. formdata=None for the stored values alone)."""
        if pack is None:
            return cls(data={"currency": default_currency}, **kwargs)
        return cls(
            **kwargs,
            data={
                "name": pack.name,
                "credits": pack.credits,
                "price": money.to_major(pack.price, pack.currency),
                "currency": pack.currency,
                "active": pack.active,
            },
        )

    def validate_price(self, field):
        """The price must fit the currency: no fraction of a yen, at most two decimals of a dollar."""
        if field.data is not None:
            try:
                money.to_minor(field.data, self.currency.data)
            except ValueError as exc:
                raise ValidationError(str(exc)) from exc

    def price_minor(self):
        """The price in the currency's minor units, exactly."""
        return money.to_minor(self.price.data, self.currency.data)


class PhoneOrderForm(FlaskForm):
    # type="email": a phone's keyboard with "@", and the browser's own check before sending
    email = EmailField("Customer e-mail", validators=[InputRequired(), Email(), Length(max=320)])
    pack_id = SelectField("Pack", coerce=db_int, validators=[InputRequired()])
    nonce = HiddenField(validators=[InputRequired(), Length(min=16, max=64)])


class PaymentFilter:
    """Query-string filters for the admin payments list (GET, bookmarkable)."""

    def __init__(self, args, statuses):
        status = args.get("status", "")
        self.status = status if status in statuses else ""
        self.page = page_number(args)

    def as_args(self, **changes):
        args = {"status": self.status, "page": self.page}
        args.update(changes)
        return {k: v for k, v in args.items() if v not in ("", None)}
