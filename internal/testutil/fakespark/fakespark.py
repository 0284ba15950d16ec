#!/usr/bin/env python3
"""fakespark: a TEST STAND-IN for a Spark-on-YARN head node, used by ferry's
tests only (no Spark or Hadoop can be installed where they run). One file,
three commands, chosen by the name it is called by:

  spark-submit  stands in for Spark 3.3's bin/spark-submit with --master yarn
  yarn          stands in for Hadoop 3.3's `yarn application -status/-kill`,
                `yarn logs -applicationId`, `yarn node -list`
  hdfs          stands in for `hdfs dfs` (-mkdir -put -get -ls -test -cat -rm)
                and `hdfs getconf -confKey fs.defaultFS`
  fakespark.py rm   the ResourceManager + NodeManager daemon (run as "yarn")

It mirrors the documented behaviour cited in ferry's facts file
(spark-submit-yarn.md): spark-submit's argument grammar and error messages,
YARN's localisation of --archives (unpacked under the #alias, read-only), a
cluster-mode driver in its own container directory with the interpreter and
environment Spark would choose, application reports and aggregated logs in
Hadoop's formats. Containers run as the daemon's user, so the submitting user
cannot signal them: only `yarn application -kill` stops them, as on a real
cluster. The "cluster" is this machine; HDFS is a local directory.
"""
import json, os, shutil, signal, subprocess, sys, tarfile, time, traceback, uuid, zipfile

HOME = os.environ.get("FAKEYARN_HOME", "/var/lib/fakeyarn")
DFS_ROOT = os.environ.get("FAKEHDFS_ROOT", "/var/lib/fakehdfs")
DEFAULT_FS = "hdfs://fakehdi-nn:8020"
HERE = os.path.dirname(os.path.realpath(__file__))
POLL = 0.2
VALUE_OPTS = set("""--archives --class --conf -c --deploy-mode --driver-class-path --driver-cores
 --driver-java-options --driver-library-path --driver-memory --executor-cores --executor-memory --files
 --jars --keytab --kill --master --name --num-executors --packages --exclude-packages --principal
 --properties-file --proxy-user --py-files --queue --repositories --status --total-executor-cores""".split())
SWITCHES = set("--help -h --supervise --usage-error --verbose -v --version".split())
USAGE = "Usage: spark-submit [options] <app jar | python file | R file> [app arguments]\n"


def err(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def log(level, cls, msg):
    err(time.strftime("%y/%m/%d %H:%M:%S") + " %s %s: %s" % (level, cls, msg))


def launcher_error(msg):  # org.apache.spark.launcher.Main: usage error, exit 1
    err("Error: " + msg + "\n")
    sys.stderr.write(USAGE)
    sys.exit(1)


def spark_exception(msg, cls="org.apache.spark.SparkException"):  # escapes main: exit 1
    err('Exception in thread "main" %s: %s\n\tat org.apache.spark.deploy.SparkSubmit.main(SparkSubmit.scala)' % (cls, msg))
    sys.exit(1)


def write_json(path, obj):
    tmp = "%s.%s.tmp" % (path, uuid.uuid4().hex)
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.chmod(tmp, 0o666)
    os.replace(tmp, path)


def read_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


# ---- spark-submit -------------------------------------------------------

def parse_submit(argv):
    """SparkSubmitOptionParser: options before the primary resource only."""
    opts, conf, i = {}, {}, 0
    while i < len(argv):
        a = argv[i]
        name, value = a, None
        if a.startswith("--") and "=" in a[2:]:
            name, value = a.split("=", 1)
        if name in VALUE_OPTS:
            if value is None:
                if i + 1 >= len(argv):
                    launcher_error("Missing argument for option '%s'." % name)
                i, value = i + 1, argv[i + 1]
            if name in ("--conf", "-c"):
                if "=" not in value:
                    launcher_error("Invalid argument to --conf: " + value)
                k, v = value.split("=", 1)
                conf[k] = v  # the last one wins
            else:
                opts[name] = value
        elif value is None and a in SWITCHES:
            opts[a] = True
        elif a.startswith("-"):
            launcher_error("Unrecognized option: " + a)
        else:
            return opts, conf, a, argv[i + 1:]
        i += 1
    return opts, conf, None, []


def spark_submit(argv):
    opts, conf, primary, args = parse_submit(argv)
    if "--help" in opts or "-h" in opts:
        sys.stderr.write(USAGE)
        sys.exit(0)
    if "--version" in opts:
        err("Welcome to Spark version 3.3.1 (fakespark stand-in)\nUsing Scala version 2.12.15\nType --help for more information.")
        sys.exit(0)
    if primary is None:
        launcher_error("Missing application resource.")
    for k in [k for k in conf if not k.startswith("spark.")]:
        err("Warning: Ignoring non-Spark config property: " + k)
        del conf[k]
    master = opts.get("--master", conf.get("spark.master", "local[*]"))
    if master != "yarn":
        spark_exception("Master must either be yarn or start with spark, mesos, k8s, or local" if not master.startswith(("spark", "mesos", "k8s", "local"))
                        else "fakespark stands in for --master yarn only")
    mode = opts.get("--deploy-mode", conf.get("spark.submit.deployMode", "client"))
    if "--deploy-mode" in opts and mode not in ("client", "cluster"):
        spark_exception('--deploy-mode must be either "client" or "cluster"')
    if mode not in ("client", "cluster"):
        spark_exception("Deploy mode must be either client or cluster")
    for p in filter(None, opts.get("--packages", "").split(",")):
        parts = p.replace("/", ":").split(":")
        if len(parts) != 3 or not all(s.strip() for s in parts):
            spark_exception("requirement failed: Provided Maven Coordinates must be in the form "
                            "'groupId:artifactId:version'. The coordinate provided is: " + p, "java.lang.IllegalArgumentException")
    for n, r in enumerate(filter(None, opts.get("--repositories", "").split(","))):
        err("%s added as a remote repository with the name: repo-%d" % (r, n + 1))
    if opts.get("--packages"):
        err(":: resolving dependencies :: org.apache.spark#spark-submit-parent (fakespark: nothing downloaded)")
        for p in opts["--packages"].split(","):
            err("\tfound %s in central" % p.replace(":", "#", 1).replace(":", ";", 1))
    conf.setdefault("spark.app.name", opts.get("--name") or os.path.basename(primary))
    conf["spark.submit.deployMode"] = mode
    res = {k: [resolve(x) for x in opts.get(k, "").split(",") if x] for k in ("--archives", "--files", "--py-files")}
    local_pyfiles = [src for src, _ in res["--py-files"]]
    names = [os.path.basename(src) for items in res.values() for src, _ in items] + [os.path.basename(primary)]
    for n in names:
        if names.count(n) > 1:
            spark_exception("Attempt to add (%s) multiple times to the distributed cache." % n, "java.lang.IllegalArgumentException")
    with open(os.path.join(HOME, "submits.log"), "a") as f:
        f.write(json.dumps({"cwd": os.getcwd(), "argv": ["spark-submit"] + argv}) + "\n")
    job = {"conf": conf, "resources": res, "primary": os.path.abspath(primary), "args": args,
           "user": os.environ.get("USER") or pwd_name(), "queue": opts.get("--queue", "default"),
           "local_pyfiles": local_pyfiles}
    stage(job)
    if mode == "client":
        sys.exit(client_driver(job))
    sys.exit(cluster_submit(job))


def stage(job):
    """Upload what is shipped (.sparkStaging): the submitter copies, as it can read its own files."""
    d = os.path.join(HOME, "staging", uuid.uuid4().hex)
    os.makedirs(d)
    # The executor runs spark-submit under umask 077. Real YARN localizes a
    # private resource as the submitting user (ContainerLocalizer), so the
    # staging folder's 0700 does not matter there; this stand-in's daemon
    # runs as yarn, so the folder is opened to it explicitly.
    os.chmod(d, 0o755)
    for items in job["resources"].values():
        for i, (src, alias) in enumerate(items):
            dst = os.path.join(d, os.path.basename(src))
            shutil.copyfile(src, dst)
            os.chmod(dst, 0o644)
            items[i] = [dst, alias]
    job["local_primary"], job["primary"] = job["primary"], os.path.join(d, os.path.basename(job["primary"]))
    shutil.copyfile(job["local_primary"], job["primary"])
    os.chmod(job["primary"], 0o644)


def pwd_name():
    import pwd
    return pwd.getpwuid(os.getuid()).pw_name


def resolve(item):  # a path with its #alias kept; relative to spark-submit's cwd
    path, _, alias = item.partition("#")
    return os.path.abspath(path), alias or os.path.basename(path)


def pick_python(conf, env, driver):
    """PythonRunner (driver) and SparkContext.pythonExec (executors)."""
    keys = ["spark.pyspark.driver.python", "spark.pyspark.python"] if driver else ["spark.pyspark.python"]
    for k in keys:
        if conf.get(k):
            return conf[k]
    for k in (["PYSPARK_DRIVER_PYTHON", "PYSPARK_PYTHON"] if driver else ["PYSPARK_PYTHON"]):
        if env.get(k):
            return env[k]
    return "python3"


def driver_env(conf, env):
    env = dict(env)
    if conf.get("spark.pyspark.python"):
        env["PYSPARK_PYTHON"] = conf["spark.pyspark.python"]
    env["PYTHONHASHSEED"] = "0"
    return env


def client_driver(job):
    """Client mode: the driver is spark-submit's child, in its cwd and env."""
    conf = job["conf"]
    env = driver_env(conf, os.environ)
    pyfiles = job["local_pyfiles"]  # the driver reads the original local paths
    env["PYTHONPATH"] = os.pathsep.join([HERE] + pyfiles + [p for p in [os.environ.get("PYTHONPATH")] if p])
    env["FAKESPARK_CONF"] = json.dumps(job)
    python = pick_python(conf, env, True)
    p = subprocess.Popen([python, job["local_primary"]] + job["args"], env=env)
    signal.signal(signal.SIGTERM, lambda *_: (p.terminate(), sys.exit(143)))
    return p.wait()


def cluster_submit(job):
    job["kind"] = "am"
    job["submit_env"] = {k: os.environ[k] for k in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "PYTHONHASHSEED") if k in os.environ}
    app = rm_request("submit", job)["app"]
    log("INFO", "Client", "Submitting application %s to ResourceManager" % app)
    log("INFO", "YarnClientImpl", "Submitted application %s" % app)
    last = None
    while True:
        r = read_json(os.path.join(HOME, "apps", app, "report.json"), {})
        if r.get("state") != last:
            last = r.get("state")
            log("INFO", "Client", "Application report for %s (state: %s)" % (app, last))
        if r.get("state") in ("FINISHED", "FAILED", "KILLED"):
            break
        time.sleep(POLL)
    final = r.get("final")
    if final == "SUCCEEDED":
        return 0
    if final == "KILLED" or r.get("state") == "KILLED":
        spark_exception("Application %s is killed" % app)
    spark_exception("Application %s finished with failed status" % app)


def rm_request(kind, body, wait=True):
    """Ask the daemon (it owns every report and container) and await its answer."""
    rid = uuid.uuid4().hex
    body = dict(body, request=kind, id=rid)
    write_json(os.path.join(HOME, "requests", rid + ".json"), body)
    resp = os.path.join(HOME, "responses", rid + ".json")
    for _ in range(int(60 / POLL)):
        r = read_json(resp)
        if r is not None and "error" in r:
            err("fakespark: the ResourceManager stand-in refused the %s request: %s" % (kind, r["error"]))
            sys.exit(1)
        if r is not None or not wait:
            return r
        time.sleep(POLL / 4)
    err("fakespark: the ResourceManager stand-in did not answer (is `fakespark.py rm` running?)")
    sys.exit(1)


# ---- the daemon: ResourceManager and NodeManager ------------------------

class RM:
    def __init__(self):
        self.procs = {}  # app id -> list of (container id, Popen)
        self.drivers = {}  # client-mode app id -> the driver's pid on the head node
        self.ts = int(time.time() * 1000)
        self.seq = 0

    def serve(self):
        for d in ("requests", "responses", "apps"):
            os.makedirs(os.path.join(HOME, d), exist_ok=True)
        while True:
            for name in sorted(os.listdir(os.path.join(HOME, "requests"))):
                path = os.path.join(HOME, "requests", name)
                req = read_json(path)
                if req is None or not name.endswith(".json"):
                    continue
                os.remove(path)
                try:
                    resp = getattr(self, "do_" + req["request"])(req)
                except Exception as e:  # a broken request must not stop the daemon
                    traceback.print_exc()
                    resp = {"error": repr(e)}
                write_json(os.path.join(HOME, "responses", req["id"] + ".json"), resp)
            try:
                self.reap()
            except Exception:  # a real ResourceManager outlives one bad container
                traceback.print_exc()
            sys.stderr.flush()
            time.sleep(POLL / 4)

    def new_app(self, job, state):
        self.seq += 1
        app = "application_%d_%04d" % (self.ts, self.seq)
        os.makedirs(os.path.join(HOME, "apps", app))
        rep = {"id": app, "name": job["conf"].get("spark.app.name", "Spark"), "user": job["user"],
               "queue": job.get("queue", "default"), "state": state, "final": "UNDEFINED", "diag": "",
               "start": int(time.time() * 1000), "finish": 0, "attempt": 0}
        write_json(os.path.join(HOME, "apps", app, "job.json"), job)
        self.save(rep)
        return app, rep

    def save(self, rep):
        write_json(os.path.join(HOME, "apps", rep["id"], "report.json"), rep)

    def report(self, app):
        return read_json(os.path.join(HOME, "apps", app, "report.json"))

    def do_submit(self, job):
        app, rep = self.new_app(job, "ACCEPTED")
        self.start_am(app, rep)
        return {"app": app}

    def do_register(self, job):  # a client-mode SparkContext starts: ExecutorLauncher AM
        app = self.new_app(job, "RUNNING")[0]
        self.drivers[app] = job["driver_pid"]
        return {"app": app}

    def do_unregister(self, req):
        rep = self.report(req["app"])
        if rep and rep["state"] == "RUNNING":
            rep.update(state="FINISHED", final="SUCCEEDED", finish=int(time.time() * 1000))
            self.save(rep)
        return {}

    def start_am(self, app, rep):
        job = read_json(os.path.join(HOME, "apps", app, "job.json"))
        conf = job["conf"]
        rep["attempt"] += 1
        cid = "container_%d_%s_%02d_000001" % (self.ts, app.rsplit("_", 1)[1], rep["attempt"])
        cwd = self.localize(app, cid, job)
        shutil.copyfile(job["primary"], os.path.join(cwd, os.path.basename(job["primary"])))
        env = container_env(cwd, conf, "spark.yarn.appMasterEnv.")
        for k, v in job["submit_env"].items():
            env.setdefault(k, v)  # Client.scala: copied in unless already set
        env = driver_env(conf, env)
        env["PYTHONPATH"] = os.pathsep.join([HERE, os.path.join(cwd, "__pyfiles__")] + [p for p in [env.get("PYTHONPATH")] if p])
        env["FAKESPARK_APP_ID"] = app
        argv = [pick_python(conf, env, True), os.path.basename(job["primary"])] + job["args"]
        self.launch(app, cid, argv, env, cwd)
        rep.update(state="RUNNING")
        self.save(rep)

    def do_executor(self, req):  # one executor container running the driver's pythonExec
        app, job = req["app"], read_json(os.path.join(HOME, "apps", req["app"], "job.json"))
        n = len(os.listdir(os.path.join(HOME, "apps", app, "containers")) if os.path.isdir(os.path.join(HOME, "apps", app, "containers")) else [])
        cid = "container_%d_%s_01_%06d" % (self.ts, app.rsplit("_", 1)[1], n + 2)
        cwd = self.localize(app, cid, job)
        env = container_env(cwd, job["conf"], "spark.executorEnv.")
        env["PYTHONPATH"] = os.pathsep.join([HERE, os.path.join(cwd, "__pyfiles__")] + [p for p in [env.get("PYTHONPATH")] if p])
        self.launch(app, cid, [req["python"], "-c", req["code"]], env, cwd)
        return {"container": cid}

    def localize(self, app, cid, job):
        cwd = os.path.join(HOME, "apps", app, "containers", cid)
        os.makedirs(cwd)
        for kind, items in job["resources"].items():
            for src, alias in items:
                if kind == "--archives":
                    unpack(src, os.path.join(cwd, alias))
                elif kind == "--py-files" and src.endswith(".py"):
                    os.makedirs(os.path.join(cwd, "__pyfiles__"), exist_ok=True)
                    os.symlink(src, os.path.join(cwd, "__pyfiles__", os.path.basename(src)))
                else:
                    os.symlink(src, os.path.join(cwd, alias))
        return cwd

    def launch(self, app, cid, argv, env, cwd):
        logs = os.path.join(HOME, "apps", app, "logs", cid)
        os.makedirs(logs)
        out, errf = open(os.path.join(logs, "stdout"), "w"), open(os.path.join(logs, "stderr"), "w")
        try:
            p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=errf, stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as e:
            errf.write("Exception from container-launch: %s\n" % e)
            p = subprocess.Popen(["false"])
        self.procs.setdefault(app, []).append((cid, p))

    def reap(self):
        for app, pid in list(self.drivers.items()):
            if not os.path.exists("/proc/%d" % pid):  # "Driver terminated or disconnected!"
                del self.drivers[app]
                self.do_unregister({"app": app})
        for app, procs in list(self.procs.items()):
            for cid, p in procs:
                if p.poll() is None or not cid.endswith("_000001"):
                    continue
                procs.remove((cid, p))
                rep = self.report(app)
                if rep["state"] != "RUNNING":
                    continue
                code = p.returncode if p.returncode >= 0 else 128 - p.returncode
                if code == 0:
                    rep.update(state="FINISHED", final="SUCCEEDED")
                else:
                    rep.update(diag="User application exited with status %d" % code)
                    job = read_json(os.path.join(HOME, "apps", app, "job.json"))
                    attempts = int(job["conf"].get("spark.yarn.maxAppAttempts", "2"))
                    if rep["attempt"] < min(attempts, 2):
                        self.save(rep)
                        self.start_am(app, rep)
                        continue
                    rep.update(state="FINISHED", final="FAILED")
                rep["finish"] = int(time.time() * 1000)
                self.save(rep)

    def do_kill(self, req):
        rep = self.report(req["app"])
        if rep is None:
            return {"status": "unknown"}
        if rep["state"] in ("FINISHED", "FAILED", "KILLED"):
            return {"status": "finished"}
        rep.update(state="KILLED", final="KILLED", diag="Application killed by user.", finish=int(time.time() * 1000))
        self.save(rep)
        for cid, p in self.procs.pop(req["app"], []):
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
        return {"status": "killed"}


def container_env(cwd, conf, prefix):
    """A YARN container's environment: not the submitter's, only what is given."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "PWD": cwd, "LANG": "C.UTF-8", "HOME": cwd}
    env.update({k: os.environ[k] for k in ("FAKEYARN_HOME", "FAKEHDFS_ROOT") if k in os.environ})  # the stand-in's own
    for k, v in conf.items():
        if k.startswith(prefix):
            name = k[len(prefix):]
            env[name] = env[name] + ":" + v if name in env and name != "PWD" else v
    return env


def unpack(src, dest):
    """FSDownload: by the source's name; then files 0500 and dirs 0700."""
    low = src.lower()
    os.makedirs(dest, 0o700)
    if low.endswith((".jar", ".zip")):
        with zipfile.ZipFile(src) as z:  # regular files only, modes ignored
            for info in z.infolist():
                if not info.is_dir():
                    z.extract(info, dest)
    elif low.endswith((".tar.gz", ".tgz", ".tar")):
        subprocess.check_call(["tar", "-x", "-f", src, "-C", dest])
    else:
        err("Cannot unpack " + src)
        os.rmdir(dest)
        shutil.copyfile(src, dest)
        os.chmod(dest, 0o500)
        return
    for root, dirs, files in os.walk(dest):
        for d in dirs:
            if not os.path.islink(os.path.join(root, d)):
                os.chmod(os.path.join(root, d), 0o700)
        for f in files:
            if not os.path.islink(os.path.join(root, f)):
                os.chmod(os.path.join(root, f), 0o500)


# ---- yarn -----------------------------------------------------------------

REPORT_KEYS = ["Application-Id", "Application-Name", "Application-Type", "User", "Queue", "Application Priority",
               "Start-Time", "Finish-Time", "Progress", "State", "Final-State", "Tracking-URL", "RPC Port",
               "AM Host", "Aggregate Resource Allocation", "Aggregate Resource Preempted",
               "Log Aggregation Status", "Diagnostics", "Unmanaged Application",
               "Application Node Label Expression", "AM container Node Label Expression"]


def yarn(argv):
    if argv[:1] == ["application"] and len(argv) == 3 and argv[1] in ("-status", "-kill"):
        app = argv[2]
        rep = read_json(os.path.join(HOME, "apps", app, "report.json"))
        if argv[1] == "-status":
            if rep is None:
                print("Application with id '%s' doesn't exist in RM or Timeline Server." % app)
                sys.exit(255)
            done = rep["state"] in ("FINISHED", "FAILED", "KILLED")
            vals = [app, rep["name"], "SPARK", rep["user"], rep["queue"], "0", rep["start"], rep["finish"],
                    "100%" if done else "10%", rep["state"], rep["final"], "N/A", "-1", "fakehdi-wn0", "N/A", "N/A",
                    "SUCCEEDED" if done else "NOT_START", rep["diag"], "false", "<DEFAULT_PARTITION>", "<DEFAULT_PARTITION>"]
            print("Application Report : ")
            for k, v in zip(REPORT_KEYS, vals):
                print("\t%s : %s" % (k, v))
            sys.exit(0)
        if rep is None:
            print("Application with id '%s' doesn't exist in RM." % app)
            sys.exit(255)
        print("Killing application " + app)
        if rm_request("kill", {"app": app})["status"] == "finished":
            print("Application %s has already finished " % app)
        else:
            log("INFO", "YarnClientImpl", "Killed application " + app)
        sys.exit(0)
    if argv[:1] == ["logs"] and len(argv) == 3 and argv[1] == "-applicationId":
        yarn_logs(argv[2])
    if argv[:2] == ["node", "-list"]:
        nodes = [l.split() for l in open(os.path.join(HOME, "nodes")) if l.strip()] if os.path.exists(os.path.join(HOME, "nodes")) else [["fakehdi-wn0:45454", "RUNNING"]]
        shown = [n for n in nodes if "-all" in argv or n[1] == "RUNNING"]
        print("Total Nodes:%d" % len(shown))
        print("%16s\t%15s\t%17s\t%28s" % ("Node-Id", "Node-State", "Node-Http-Address", "Number-of-Running-Containers"))
        for n in shown:
            print("%16s\t%15s\t%17s\t%28s" % (n[0], n[1], n[0].split(":")[0] + ":8042", "0"))
        sys.exit(0)
    err("fakespark: yarn stand-in: unsupported command: yarn " + " ".join(argv))
    sys.exit(255)


def yarn_logs(app):
    import re
    if not re.match(r"^application_\d+_\d+$", app):
        print("Invalid ApplicationId specified")
        sys.exit(255)
    rep = read_json(os.path.join(HOME, "apps", app, "report.json"))
    base = os.path.join(HOME, "apps", app, "logs")
    if rep is None or not os.path.isdir(base):
        print("/tmp/logs/%s/logs/%s does not exist." % (pwd_name(), app))
        print("Log aggregation has not completed or is not enabled.")
        sys.exit(255)
    for cid in sorted(os.listdir(base)):
        for name in ("stderr", "stdout"):
            data = open(os.path.join(base, cid, name), errors="replace").read()
            head = "Container: %s on fakehdi-wn0_45454" % cid
            sys.stdout.write("%s\nLogAggregationType: AGGREGATED\n%s\nLogType:%s\nLogLastModifiedTime:%s\nLogLength:%d\nLogContents:\n%s\nEnd of LogType:%s\n%s\n\n"
                             % (head, "=" * len(head), name, time.ctime(), len(data), data, name, "*" * (len(name) + 50)))
    sys.exit(0)


# ---- hdfs -------------------------------------------------------------------

def local(p):
    if p.startswith("hdfs://"):
        p = "/" + p.split("/", 3)[3] if p.count("/") >= 3 else "/"
    elif not p.startswith("/"):
        p = "/user/%s/%s" % (pwd_name(), p)
    return os.path.join(DFS_ROOT, p.lstrip("/"))


def hdfs(argv):
    if argv == ["getconf", "-confKey", "fs.defaultFS"]:
        print(DEFAULT_FS)
        sys.exit(0)
    if argv[:1] != ["dfs"] or len(argv) < 2:
        err("fakespark: hdfs stand-in: unsupported command: hdfs " + " ".join(argv))
        sys.exit(255)
    cmd, rest = argv[1], [a for a in argv[2:] if a not in ("-p", "-f", "-r")]
    flags = set(argv[2:]) - set(rest)
    os.umask(0)  # the stand-in keeps no HDFS permissions (dfs.permissions.enabled=false)
    try:
        if cmd == "-mkdir":
            for p in rest:
                os.makedirs(local(p), 0o777, exist_ok="-p" in flags)
        elif cmd == "-put":
            dst = local(rest[-1])
            for src in rest[:-1]:
                t = os.path.join(dst, os.path.basename(src)) if os.path.isdir(dst) else dst
                if os.path.exists(t) and "-f" not in flags:
                    err("put: `%s': File exists" % rest[-1])
                    sys.exit(1)
                (shutil.copytree(src, t, dirs_exist_ok=True) if os.path.isdir(src) else shutil.copyfile(src, t))
        elif cmd == "-get":
            for src in rest[:-1]:
                s, dst = local(src), rest[-1]
                t = os.path.join(dst, os.path.basename(s)) if os.path.isdir(dst) else dst
                (shutil.copytree(s, t) if os.path.isdir(s) else shutil.copyfile(s, t))
        elif cmd == "-test":
            sys.exit(0 if (os.path.isdir if argv[2] == "-d" else os.path.exists)(local(argv[3])) else 1)
        elif cmd == "-ls":
            for p in rest:
                for n in sorted(os.listdir(local(p))):
                    print("%s/%s" % (p.rstrip("/"), n))
        elif cmd == "-cat":
            for p in rest:
                sys.stdout.write(open(local(p)).read())
        elif cmd == "-rm":
            for p in rest:
                (shutil.rmtree if os.path.isdir(local(p)) else os.remove)(local(p))
        else:
            err("fakespark: hdfs stand-in: unsupported command: hdfs dfs " + cmd)
            sys.exit(255)
    except FileNotFoundError as e:
        err("%s: `%s': No such file or directory" % (cmd.lstrip("-"), e.filename))
        sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":
    prog = os.path.basename(sys.argv[0])
    if prog == "spark-submit":
        spark_submit(sys.argv[1:])
    elif prog == "yarn":
        yarn(sys.argv[1:])
    elif prog == "hdfs":
        hdfs(sys.argv[1:])
    elif sys.argv[1:] == ["rm"]:
        RM().serve()
    else:
        err("fakespark: call me as spark-submit, yarn or hdfs, or with 'rm'")
        sys.exit(2)
