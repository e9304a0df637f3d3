from metaflow import FlowSpec, current, step


class HelloAzureFlow(FlowSpec):
    """Writes an artifact in one step and reads it in the next: the datastore round trip."""

    @step
    def start(self):
        self.message = "hello from %s" % current.run_id
        self.numbers = list(range(10))
        print("metaflow-tier: start ran as task %s" % current.task_id)
        self.next(self.end)

    @step
    def end(self):
        assert self.numbers == list(range(10))
        self.total = sum(self.numbers)
        print("metaflow-tier: end read %r" % self.message)


if __name__ == "__main__":
    HelloAzureFlow()
