# Databricks notebook source
# MAGIC %md
# MAGIC ## Ingest: raw CSV files -> bronze Delta tables (types applied, source file kept)

# COMMAND ----------

import fnmatch
import functools
import posixpath

import pyspark.sql.functions as F

from dtflw import init_inputs, init_outputs
from dtflw.storage.dbfs import init_storage

inputs = init_inputs("SalesRaw", "CustomersRaw")
outputs = init_outputs("OrdersBronze", "CustomersBronze")
storage = init_storage(format="delta")

# COMMAND ----------

# One read per raw file, its path kept as a column: runs on every cluster type, also serverless
# and Spark Connect, where input_file_name() is not available.
folder, name_glob = posixpath.split(inputs["SalesRaw"].value)
raw_files = sorted(f.path for f in dbutils.fs.ls(folder) if fnmatch.fnmatch(f.name, name_glob))


def read_orders(path):
    return (
        spark.read.option("header", True)
        .schema(
            "order_id INT, order_date DATE, customer_id INT, product_id STRING, product STRING, "
            "quantity INT, unit_price DOUBLE"
        )
        .csv(path)
        .withColumn("source_file", F.lit(path))
    )


orders = functools.reduce(lambda a, b: a.unionByName(b), map(read_orders, raw_files))
storage.write_table(orders, outputs["OrdersBronze"].value)

customers = (
    spark.read.option("header", True)
    .schema("customer_id INT, name STRING, country STRING")
    .csv(inputs["CustomersRaw"].value)
)
storage.write_table(customers, outputs["CustomersBronze"].value)
print(f"bronze: {orders.count()} order rows, {customers.count()} customers")
