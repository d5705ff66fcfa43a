"""OpenAPI description of the bearer-token authentication (loaded by the app config)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "referrals.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):  # noqa: ANN001, ANN201 - drf-spectacular API
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token issued to your client: `Authorization: Bearer ts_…`. "
            "Tokens are shown once when issued; ask the marketplace's operators for one.",
        }
