# Databricks notebook source
# MAGIC %md
# MAGIC ## One day's revenue

# COMMAND ----------

import pyspark.sql.functions as F

from dtflw import init_inputs, init_outputs

orders = spark.read.parquet(init_inputs("DayOrders")["DayOrders"].value)
out = init_outputs("DayRevenue")["DayRevenue"].value

# COMMAND ----------

(
    orders.agg(F.round(F.sum("amount"), 2).alias("revenue"), F.count("*").alias("orders"))
    .write.mode("overwrite")
    .parquet(out)
)
