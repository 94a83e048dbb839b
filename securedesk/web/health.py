"""Operations endpoints: ``/healthz`` (the process answers), ``/readyz`` (database, KEK and audit log usable) and
``/metrics`` (Prometheus text), which the main app serves only to a caller ``Services.metrics_authorizer`` admits."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from securedesk.gateway.services import Services
from securedesk.metrics import CONTENT_TYPE, Metrics


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    results = await services_of(request).check_readiness()
    ready = all(results.values())
    payload = {
        "status": "ready" if ready else "not_ready",
        "checks": {name: "ok" if ok else "failed" for name, ok in results.items()},
    }
    return JSONResponse(payload, status_code=200 if ready else 503)


async def metrics_on_main_app(request: Request) -> Response:
    # Only a logged-in admin (the authorizer create_app sets); anyone else gets 404, as for any unknown path.
    authorizer = services_of(request).metrics_authorizer
    if authorizer is None or not await authorizer(request):
        raise HTTPException(404)
    return metrics_response(services_of(request).metrics)


def metrics_response(metrics: Metrics) -> Response:
    return Response(metrics.render(), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
