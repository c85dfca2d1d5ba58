"""marshmallow schemas of categorization's HTTP API."""

from marshmallow import RAISE, Schema, fields, validate

from shared.events import CATEGORY_IDS


class ClassifyRequest(Schema):
    class Meta:
        unknown = RAISE

    text = fields.String(required=True, validate=validate.Length(min=1, max=100_000))


class CategoryCorrection(Schema):
    class Meta:
        unknown = RAISE

    category = fields.String(required=True, validate=validate.OneOf(CATEGORY_IDS))
    note = fields.String(allow_none=True, validate=validate.Length(max=1000))


class ReviewQuery(Schema):
    """``GET /api/v1/review?limit=``: the oldest waiting feedback first."""

    class Meta:
        unknown = RAISE

    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
