"""fakespark's TEST STAND-IN for pyspark.sql: SparkSession.builder only."""
from pyspark import SparkContext


class SparkSession:
    class Builder:
        def appName(self, name):  # fixed at submit in cluster mode (spark.app.name)
            return self

        def getOrCreate(self):
            return SparkSession(SparkContext.getOrCreate())

    builder = Builder()

    def __init__(self, sc):
        self.sparkContext = sc

    def stop(self):
        self.sparkContext.stop()
