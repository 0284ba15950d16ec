"""fakespark's TEST STAND-IN for the pyspark package (see ../fakespark.py).

Only what ferry's tests touch: a SparkContext that, like the real one, makes
the YARN application in client mode (none exists before it), reads
pythonExec from the driver's PYSPARK_PYTHON (default python3), and starts an
executor container that runs `<pythonExec> -c ...` (real executors run
`<pythonExec> -m pyspark.daemon`); stop() ends a client-mode application.
"""
import atexit, json, os, sys, time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakespark  # noqa: E402

PROBE = "import os, sys; print('fakespark executor: python=%s cwd=%s run=%s' % (sys.executable, os.getcwd(), os.environ.get('FERRY_RUN_ID')))"


class SparkConf:
    def __init__(self):
        self._conf = {}

    def setAppName(self, name):
        self._conf["spark.app.name"] = name
        return self


class SparkContext:
    _active = None

    def __init__(self, conf=None):
        self.pythonExec = os.environ.get("PYSPARK_PYTHON", "python3")
        self.applicationId = os.environ.get("FAKESPARK_APP_ID")
        self._client = self.applicationId is None
        if self._client:
            job = json.loads(os.environ["FAKESPARK_CONF"])
            job["driver_pid"] = os.getpid()
            self.applicationId = fakespark.rm_request("register", job)["app"]
            fakespark.log("INFO", "Client", "Submitting application %s to ResourceManager" % self.applicationId)
            atexit.register(self.stop)
        cid = fakespark.rm_request("executor", {"app": self.applicationId, "python": self.pythonExec, "code": PROBE})["container"]
        self._await(cid)
        SparkContext._active = self

    def _await(self, cid):  # the executor runs one task and ends
        logs = os.path.join(fakespark.HOME, "apps", self.applicationId, "logs", cid, "stdout")
        for _ in range(200):
            if os.path.exists(logs) and open(logs).read():
                return
            time.sleep(0.05)

    @classmethod
    def getOrCreate(cls, conf=None):
        return cls._active or cls(conf)

    def stop(self):
        if self._client and self.applicationId:
            fakespark.rm_request("unregister", {"app": self.applicationId})
            self._client = False
