# Databricks notebook source
# MAGIC %md
# MAGIC ## Silver: one row per order, corrections applied with a Delta MERGE

# COMMAND ----------

import pyspark.sql.functions as F
from pyspark.sql import Window

from dtflw import init_inputs, init_outputs

inputs = init_inputs("OrdersBronze", "CustomersBronze")
target = init_outputs("Orders")["Orders"].value

# COMMAND ----------

bronze = spark.read.format("delta").load(inputs["OrdersBronze"].value)
customers = spark.read.format("delta").load(inputs["CustomersBronze"].value)
# The last row of an order in the raw files is its correction.
latest = Window.partitionBy("order_id").orderBy(F.col("source_file").desc(), F.col("quantity").desc())
updates = (
    bronze.withColumn("rank", F.row_number().over(latest))
    .where("rank = 1")
    .join(customers.select("customer_id", "country"), "customer_id", "left")
    .select(
        "order_id",
        "order_date",
        "customer_id",
        "country",
        "product",
        (F.col("quantity") * F.col("unit_price")).alias("amount"),
    )
)

# COMMAND ----------

# SQL MERGE runs on every engine and cluster type (the DeltaTable Python API needs Delta Connect
# on serverless / Spark Connect). The first run creates the empty table, then every run merges.
updates.limit(0).write.format("delta").mode("append").save(target)
updates.createOrReplaceTempView("order_updates")
spark.sql(
    f"""
    MERGE INTO delta.`{target}` AS t USING order_updates AS u ON t.order_id = u.order_id
    WHEN MATCHED THEN UPDATE SET *
    WHEN NOT MATCHED THEN INSERT *
    """
)

display(spark.read.format("delta").load(target).limit(5))
