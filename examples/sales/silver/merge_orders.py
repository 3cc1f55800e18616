# Databricks notebook source
# MAGIC %md
# MAGIC ## Silver: one row per order, corrections applied with a Delta MERGE

# COMMAND ----------

import pyspark.sql.functions as F
from delta.tables import DeltaTable
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

if DeltaTable.isDeltaTable(spark, target):
    (
        DeltaTable.forPath(spark, target)
        .alias("t")
        .merge(updates.alias("u"), "t.order_id = u.order_id")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )
else:
    updates.write.format("delta").save(target)

display(spark.read.format("delta").load(target).limit(5))
