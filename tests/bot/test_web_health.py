from __future__ import annotations

from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request

from bot import Settings, create_app
from tests.bot.conftest import ClientFactory
from tests.conftest import free_port


async def test_health_is_200_with_every_component_ok(
    client: TestClient[Request, Application],
) -> None:
    response = await client.get("/health")

    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ok"
    assert set(body["components"]) == {"redis", "rasa", "action_server"}
    assert all(c["status"] == "ok" for c in body["components"].values())


async def test_health_is_503_naming_rasa_when_rasa_is_down(
    aiohttp_client: ClientFactory, settings: Settings, closed_port_url: str
) -> None:
    client = await aiohttp_client(
        create_app(Settings(**{**settings.__dict__, "rasa_url": closed_port_url}))
    )

    response = await client.get("/health")

    assert response.status == 503
    body = await response.json()
    assert body["failing"] == ["rasa"]
    assert body["components"]["redis"]["status"] == "ok"


async def test_health_is_503_naming_redis_and_action_server(
    aiohttp_client: ClientFactory, settings: Settings, closed_port_url: str
) -> None:
    broken = Settings(
        **{
            **settings.__dict__,
            "redis_url": f"redis://127.0.0.1:{free_port()}/0",
            "action_server_url": closed_port_url,
        }
    )
    client = await aiohttp_client(create_app(broken))

    response = await client.get("/health")

    assert response.status == 503
    assert (await response.json())["failing"] == ["redis", "action_server"]
