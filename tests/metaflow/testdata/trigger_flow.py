from metaflow import FlowSpec, step, trigger


@trigger(event="metaflow-tier-data-ready")
class TriggeredAzureFlow(FlowSpec):
    """Runs when the event arrives: Metaflow writes a Sensor for it beside the WorkflowTemplate."""

    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    TriggeredAzureFlow()
