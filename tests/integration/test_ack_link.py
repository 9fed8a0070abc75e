"""A resident acknowledges a WeChat warning through the link it opens: counted as reached."""

from __future__ import annotations

import aiohttp

from config.settings import Settings
from reach import links
from sim import wechat
from subscribers.residents import Resident
from tests.integration.conftest import Api, FakeClock
from tests.integration.engine import engine
from tests.integration.flows import issue_new, ok
from tests.support import NOW
from warning.grades import Grade

VILLAGE = "320921101001"


async def test_the_wechat_link_acknowledges_once_and_counts_the_resident_as_reached(
    api: Api, settings: Settings, clock: FakeClock
) -> None:
    async with engine(settings, clock) as e:
        async with e.services.store.write() as tx:
            await tx.residents.upsert_many(
                [
                    Resident(
                        external_id="W1",
                        name="渔民甲",
                        phone=None,
                        wechat_openid="oLinkTest0001",
                        locale="zh-CN",
                        area_code=VILLAGE,
                        groups=(),
                        channels=("wechat", "sms"),
                        min_grade=Grade.BLUE,
                        test_recipient=False,
                    )
                ],
                NOW,
            )
        issued = await issue_new(api, grade="red", areas=[VILLAGE])
        await e.runner.drain()
        [sent] = [m for m in e.sims["wechat"][wechat.SIM].received if m.to == "oLinkTest0001"]
        url = str(sent.payload["url"])
        assert url.startswith(f"{e.settings.public_base_url}/ack/")

        async with aiohttp.ClientSession() as http:
            async with http.get(url) as page:  # looking changes nothing
                assert page.status == 200
                assert "我已收到" in await page.text() and "台风红色预警" in await page.text()
            before = await ok(api.get(f"/warnings/{issued['id']}/coverage", "duty_chief"))
            for _ in range(2):  # a second tap records nothing more
                async with http.post(url) as done:
                    assert done.status == 200 and "已确认收到" in await done.text()
            forged = url[:-1] + ("0" if url[-1] != "0" else "1")
            async with http.post(forged) as refused:
                assert refused.status == 404 and "链接无效" in await refused.text()
            async with http.get(url.rsplit("/", 1)[0] + "/not-a-token") as refused:
                assert refused.status == 404

        after = await ok(api.get(f"/warnings/{issued['id']}/coverage", "duty_chief"))
        channels = {c["channel"]: c["reached"] for c in after["channels"]}
        assert channels == {"wechat": 1, "ack": 1}  # the same person, counted once below
        assert after["county"]["individual"] == before["county"]["individual"] == 1
        delivery_id = links.delivery_of(url.rsplit("/", 1)[1], e.services.link_key)
        async with e.services.store.read() as tx:
            events = [x.event for x in await tx.deliveries.events(delivery_id or 0)]
        assert events.count("acknowledged") == 1
