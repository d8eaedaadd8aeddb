"""What every domain's shapes share: field types, the request and answer bases, pages, a
problem document."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Field(ge=1, le=100)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50000)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Tags = Annotated[list[Annotated[str, Field(max_length=50)]], Field(max_length=20)]
Email = Annotated[EmailStr, Field(max_length=320)]  # the shape the forms' Email() check asks for


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Output(BaseModel):
    pass


class PageQuery(Query):
    after: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    limit: Limit = 25


class MessagePageQuery(PageQuery):
    """A ticket's messages by id (`after`, as ever), or by sequence (`after_sequence`): the order
    in which they reached the ticket, so a client polling with the last sequence it read also gets
    the messages a merge moved in, whose ids are older."""

    after_sequence: Annotated[
        int | None,
        Field(
            ge=0,
            le=2**31 - 1,
            description=(
                "The messages whose `sequence` is greater, in sequence order (the `next` link"
                " carries it on). Poll with the last `sequence` read: it misses no message, also"
                " those merged in from a duplicate, whose ids are older. Not with `after`."
            ),
        ),
    ] = None


class Named(Output):
    id: int
    name: str


class Created(Output):
    """A create's answer: what was made, and whether this request made it (false: a twin did)."""

    created: bool


class Problem(Output):
    """application/problem+json (RFC 9457)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[dict[str, str]] | None = None
