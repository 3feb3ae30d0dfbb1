"""A press as an OPC UA server (asyncua), for the connector's tests: its last cycle's curve in
array variables, a part serial and a result, and a cycle counter it counts last."""

from __future__ import annotations

import asyncio
import threading

from asyncua import Server, ua

from pipelines.live.opcua import run_loop

NS = "urn:curvehouse:test:press"


class OpcuaPress:
    """Runs on a thread with its own event loop; :meth:`cycle` makes one part."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.endpoint = f"opc.tcp://127.0.0.1:{port}"
        self.count = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> OpcuaPress:
        self._thread.start()
        assert self._ready.wait(60), "the OPC UA press did not start"
        return self

    def node(self, name: str) -> str:
        return f"ns={self._ns};s=Press.{name}"

    def _run(self) -> None:
        run_loop(self._loop, self._main())

    async def _main(self) -> None:
        server = Server()
        await server.init()
        server.set_endpoint(f"{self.endpoint}/")
        self._ns = await server.register_namespace(NS)
        press = await server.nodes.objects.add_object(ua.NodeId("Press", self._ns), "Press")

        async def variable(name: str, value: object, kind: ua.VariantType):
            return await press.add_variable(
                ua.NodeId(f"Press.{name}", self._ns), name, ua.Variant(value, kind)
            )

        self._vars = {
            "x": await variable("Displacement", [], ua.VariantType.Double),
            "y": await variable("Force", [], ua.VariantType.Double),
            "serial": await variable("PartSerial", "", ua.VariantType.String),
            "result": await variable("Result", "", ua.VariantType.String),
            "counter": await variable("CycleCounter", self.count, ua.VariantType.UInt32),
        }
        self._stopped = asyncio.Event()
        async with server:
            self._ready.set()
            await self._stopped.wait()

    async def _cycle(self, x, y, serial, result) -> int:
        v = self._vars
        await v["x"].write_value(ua.Variant(list(x), ua.VariantType.Double))
        await v["y"].write_value(ua.Variant(list(y), ua.VariantType.Double))
        await v["serial"].write_value(ua.Variant(serial, ua.VariantType.String))
        await v["result"].write_value(ua.Variant(result, ua.VariantType.String))
        self.count += 1
        await v["counter"].write_value(ua.Variant(self.count, ua.VariantType.UInt32))
        return self.count

    def cycle(self, x, y, serial: str = "", result: str = "") -> int:
        """Make a part: write its curve, then count it. Returns the new count."""
        done = asyncio.run_coroutine_threadsafe(self._cycle(x, y, serial, result), self._loop)
        return done.result(30)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(30)
