"""Money: integer amounts in the currency's minor unit (Stripe's convention), shown and entered
in its main unit. Most currencies have cents (1,234.50 USD is 123450), Stripe's zero-decimal
currencies have none (500 JPY is 500), and five dinar-like currencies have thousandths whose
last digit Stripe requires to be 0 (12.340 KWD is 12340)."""

from decimal import Decimal

# https://docs.stripe.com/currencies#zero-decimal and #three-decimal
ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())
THREE_DECIMAL = frozenset("bhd jod kwd omr tnd".split())


def decimals(currency):
    """How many digits the currency's main unit has after the point."""
    code = (currency or "").lower()
    if code in ZERO_DECIMAL:
        return 0
    return 3 if code in THREE_DECIMAL else 2


def format_money(minor, currency):
    """Minor units as the main unit with its currency: '1,234.50 USD', '500 JPY', '-12.340 KWD'."""
    minor = int(minor or 0)
    places = decimals(currency)
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**places)
    shown = f"{whole:,}.{fraction:0{places}d}" if places else f"{whole:,}"
    return f"{sign}{shown} {(currency or '').upper()}"


def to_major(minor, currency):
    """Minor units as a Decimal in the main unit (for a form showing a stored price)."""
    return Decimal(int(minor)).scaleb(-decimals(currency))


def to_minor(amount, currency):
    """A Decimal in the main unit as minor units, exactly; ValueError with a message for a person
    when the currency cannot hold it (a fraction of a yen, or a thousandth of a dinar)."""
    places = decimals(currency)
    code = (currency or "").upper()
    try:
        minor = Decimal(amount).scaleb(places)
    except ArithmeticError:  # beyond what a Decimal holds (1e999999)
        raise ValueError("Enter a smaller amount.") from None
    if not minor.is_finite():
        raise ValueError("Enter the amount as a number, like 19.99.")
    if minor != minor.to_integral_value():
        if places == 0:
            raise ValueError(f"{code} has no smaller unit: enter a whole amount.")
        raise ValueError(f"{code} amounts have at most {places} decimals.")
    minor = int(minor)
    if places == 3 and minor % 10:
        raise ValueError(f"{code} amounts must end in 0 in the third decimal (Stripe rounds them to tens).")
    return minor
