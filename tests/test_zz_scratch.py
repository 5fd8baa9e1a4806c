# ruff: noqa
# mypy: ignore-errors
import asyncio, uuid
from tests.support.executions import start_execution
from ferryman.api.executions.ids import new_execution_id
from ferryman.workflows import models as m, controls as c
from ferryman.workflows.gate import gate_id, ConcurrencyGate
from ferryman.workflows.execution import ExecutionWorkflow

async def test_dump(temporal_client, base_settings, worker):
    key = f"k-{uuid.uuid4().hex[:6]}"
    doc = {"steps": [{"id": "g", "kind": "wait", "with": {"signal": "go"}}]}
    slot = m.RunSettings(concurrency=m.ConcurrencySlot(key=key, limit=2))
    hs = [await start_execution(temporal_client, base_settings, doc, execution_id=new_execution_id(), run=slot, project_id="p") for _ in range(3)]
    await asyncio.sleep(4)
    g = temporal_client.get_workflow_handle(gate_id("p", key))
    print("gate", await g.query(ConcurrencyGate.slots))
    for h in hs:
        st = await h.query(ExecutionWorkflow.state)
        print(h.id, st.status)
    gh = await g.fetch_history()
    open("/tmp/histg.json","w").write(gh.to_json())
    for h in hs: await h.terminate()
